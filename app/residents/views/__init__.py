"""The residents' pages (first sign-in, the household, documents and consent) and the staff's page of their access."""

from app.core.routing import combine
from app.residents.views import documents, household, staff, start

router = combine(staff.router, start.router, household.router, documents.router)
