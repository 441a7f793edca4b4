"""Institutions and practitioners of the Tone region (editable reference data)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from app.core.models import created_at_field, enum_field, reject_control


class InstitutionKind(str, Enum):
    hospital = "hospital"
    clinic = "clinic"
    imaging = "imaging"
    laboratory = "laboratory"
    pharmacy = "pharmacy"
    fire_department = "fire_department"
    other = "other"


class InstitutionBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, index=True)
    kana: str = Field(default="", max_length=200)
    kind: InstitutionKind = enum_field(InstitutionKind, InstitutionKind.clinic)
    beds: int | None = Field(default=None, ge=0, le=5000)
    role_note: str = Field(default="", max_length=400)
    phone: str = Field(default="", max_length=40)
    postal_code: str = Field(default="", max_length=10)
    address: str = Field(default="", max_length=300)
    active: bool = True

    _no_control = field_validator("name", "kana", "role_note", "phone", "postal_code", "address", mode="before")(
        reject_control
    )


class Institution(InstitutionBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()


class InstitutionCreate(InstitutionBase):
    pass


class InstitutionPublic(InstitutionBase):
    id: int


class PractitionerBase(SQLModel):
    family_name: str = Field(min_length=1, max_length=100)
    given_name: str = Field(default="", max_length=100)
    kana: str = Field(default="", max_length=200)
    institution_id: int | None = Field(default=None, foreign_key="institution.id", index=True)
    specialty: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=40)
    active: bool = True

    _no_control = field_validator("family_name", "given_name", "kana", "specialty", "phone", mode="before")(
        reject_control
    )


class Practitioner(PractitionerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()


class PractitionerCreate(PractitionerBase):
    pass


class PractitionerPublic(PractitionerBase):
    id: int
