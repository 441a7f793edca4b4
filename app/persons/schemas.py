"""API shapes that combine several tables."""

from __future__ import annotations

from datetime import date

from sqlmodel import SQLModel

from app.history.conflicts import EditConflict
from app.history.models import ChangePublic
from app.persons.models import ClinicalEntryPublic, ConsentPublic, EmergencyContactPublic, PersonPublic


class PersonSummary(SQLModel):
    """What a search returns: enough to pick the right person, no medical data."""

    id: int
    household_id: int
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    address: str


class PersonDetail(PersonPublic):
    entries: list[ClinicalEntryPublic]
    contacts: list[EmergencyContactPublic]
    consents: list[ConsentPublic]


class PersonHistory(SQLModel):
    person_id: int
    changes: list[ChangePublic]


class PersonConflict(EditConflict):
    """409: someone saved the person since ``version``; ``current`` is what is stored now."""

    current: PersonPublic
