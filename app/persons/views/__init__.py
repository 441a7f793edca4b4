"""The pages of a person's record: staff register and edit; doctors confirm their patients' changes."""

from app.core.routing import combine
from app.persons.views import doctor, staff

router = combine(staff.router, doctor.router)
