"""API shapes of households beyond the SQLModel family."""

from __future__ import annotations

from app.history.conflicts import EditConflict
from app.households.models import HouseholdPublic


class HouseholdConflict(EditConflict):
    """409: someone saved the household since ``version``; ``current`` is what is stored now."""

    current: HouseholdPublic
