"""Who may see or change whose record: role plus relationship (DESIGN.md §6)."""

from __future__ import annotations

from app.auth.models import Role, User
from app.persons.models import Person


def can_read(user: User, person: Person) -> bool:
    """Staff see everyone; a doctor their own patients; a resident their own household.

    Paramedics never read through here: they see only what they scan (scans domain).
    """
    role = Role(user.role)
    if role in (Role.staff, Role.admin):
        return True
    if role == Role.doctor:
        return user.practitioner_id is not None and user.practitioner_id in (
            person.family_doctor_id,
            person.second_doctor_id,
        )
    if role == Role.resident:
        return user.household_id is not None and user.household_id == person.household_id
    return False


def can_edit(user: User, person: Person) -> bool:
    """The same people who may read may correct; every change carries its source."""
    return can_read(user, person)
