"""Printing from the web: staff print kits, cards and sheets; a family prints a fresh information sheet."""

from app.core.routing import combine
from app.printing.views import resident, staff

router = combine(staff.router, resident.router)
