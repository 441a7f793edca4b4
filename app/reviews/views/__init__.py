"""Who looked at whom, for those it concerns: admins (the whole log), doctors (patients), residents (household)."""

from app.core.routing import combine
from app.reviews.views import admin, doctor, resident

router = combine(admin.router, doctor.router, resident.router)
