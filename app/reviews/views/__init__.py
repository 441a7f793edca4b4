"""Who looked at whom, for the people it concerns: admins (the whole log), doctors (their patients), residents (their household)."""
from app.core.routing import combine

from app.reviews.views import admin, doctor, resident

router = combine(admin.router, doctor.router, resident.router)
