"""The network's pages: admins register FHIR clients; emergency departments follow incoming patients."""

from app.core.routing import combine
from app.network.views import admin, hospital

router = combine(admin.router, hospital.router)
