"""The emergency dataset of one person, in the priority order of DESIGN.md §3."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from pydantic import field_validator
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.models import Phone, Source, created_at_field, enum_field, optimistic_lock, reject_control, secret_field
from app.core.text import digits, is_kana, normalise_number


class Sex(str, Enum):
    male = "male"
    female = "female"
    other = "other"
    unknown = "unknown"


class DnarStatus(str, Enum):
    unknown = "unknown"  # not asked / not known
    none = "none"  # asked: no DNAR document
    exists = "exists"  # a DNAR / ACP document exists (see location)


class BloodAbo(str, Enum):
    a = "A"
    b = "B"
    o = "O"
    ab = "AB"
    unknown = "unknown"


class BloodRh(str, Enum):
    pos = "+"
    neg = "-"
    unknown = "unknown"


class PersonStatus(str, Enum):
    active = "active"
    moved = "moved"
    deceased = "deceased"


class PersonBase(SQLModel):
    # 1. identity
    family_name: str = Field(min_length=1, max_length=50)
    given_name: str = Field(default="", max_length=50)
    family_name_kana: str = Field(min_length=1, max_length=100)
    given_name_kana: str = Field(default="", max_length=100)
    # Spelling used for print only when a font lacks a character (e.g. 𠮷 → 吉).
    print_name: str = Field(default="", max_length=100)
    birth_date: date = Field(index=True)  # search by birth date seeks (app.persons.service.search)
    sex: Sex = enum_field(Sex, Sex.unknown, length=10)
    phone: Phone = Field(default="", max_length=20)
    status: PersonStatus = enum_field(PersonStatus, PersonStatus.active, length=10)
    external_ref: str | None = Field(default=None, max_length=40, unique=True, index=True)
    # 2. resuscitation wishes
    dnar_status: DnarStatus = enum_field(DnarStatus, DnarStatus.unknown, length=10)
    dnar_location: str | None = secret_field(max_length=400)
    acp_notes: str | None = secret_field(max_length=2000)
    # 6. doctors (二人主治医制: family doctor and second doctor)
    family_doctor_id: int | None = Field(default=None, foreign_key="practitioner.id")
    second_doctor_id: int | None = Field(default=None, foreign_key="practitioner.id")
    # 8. blood type, usual state, infections
    blood_abo: BloodAbo = enum_field(BloodAbo, BloodAbo.unknown, length=10)
    blood_rh: BloodRh = enum_field(BloodRh, BloodRh.unknown, length=10)
    usual_state: str | None = secret_field(max_length=2000)
    infection_notes: str | None = secret_field(max_length=1000)
    # 9. insurance (numbers encrypted at rest)
    insurance_kind: str = Field(default="", max_length=60)
    insurer_number: str | None = secret_field(max_length=8)
    insurance_symbol: str | None = secret_field(max_length=40)
    insurance_number: str | None = secret_field(max_length=40)
    insurance_branch: str | None = secret_field(max_length=2)
    # 10. confirmation
    last_confirmed_on: date | None = None
    last_confirmed_source: Source | None = enum_field(Source, None, length=10, nullable=True)

    _no_control = field_validator(
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "print_name",
        "dnar_location",
        "acp_notes",
        "usual_state",
        "infection_notes",
        "insurance_kind",
        "insurer_number",
        "insurance_symbol",
        "insurance_number",
        "insurance_branch",
        mode="before",
    )(reject_control)

    @field_validator("family_name_kana", "given_name_kana", mode="after")
    @classmethod
    def _kana(cls, v: str):
        if v and not is_kana(v):
            raise ValueError("フリガナはカタカナかひらがなで入力してください")
        return v

    @field_validator("insurer_number", "insurance_branch", mode="before")
    @classmethod
    def _numbers(cls, v):
        return normalise_number(v) or None if isinstance(v, str) else v

    @field_validator("insurer_number", mode="after")
    @classmethod
    def _insurer(cls, v):
        if v and not (digits(v) == v and len(v) in (6, 8)):
            raise ValueError("保険者番号は6桁または8桁の数字です")
        return v


class Person(PersonBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    # Search keys derived from the names and phone (app.core.text).
    name_key: str = Field(default="", max_length=100, index=True)
    kana_key: str = Field(default="", max_length=200, index=True)
    phone_key: str = Field(default="", max_length=20, index=True)
    last_confirmed_by: str = Field(default="", max_length=100)
    version: int = Field(default=1, nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()

    @property
    def full_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}".strip()

    @declared_attr
    def __mapper_args__(cls):
        return optimistic_lock(cls)


class PersonCreate(PersonBase):
    pass


class PersonUpdate(PersonBase):
    version: int


class PersonPublic(PersonBase):
    id: int
    household_id: int
    version: int
    last_confirmed_by: str
    created_at: datetime
    updated_at: datetime


class ClinicalKind(str, Enum):
    allergy = "allergy"
    medication = "medication"
    condition = "condition"


# Categories per kind; the first is the default.
CATEGORIES: dict[ClinicalKind, tuple[str, ...]] = {
    ClinicalKind.allergy: ("drug", "food", "other"),
    ClinicalKind.medication: ("regular", "as_needed"),
    ClinicalKind.condition: ("current", "past", "surgery", "device"),
}


class ClinicalStatus(str, Enum):
    active = "active"
    ended = "ended"
    entered_in_error = "entered_in_error"


class ClinicalEntryBase(SQLModel):
    kind: ClinicalKind = enum_field(ClinicalKind, length=12)
    category: str = Field(default="", max_length=12)
    text: str = secret_field(..., min_length=1, max_length=500)
    # Optional coding: YJ / HOT9 / 一般名 for medications, ICD-10 / 標準病名 for conditions.
    code_system: str = Field(default="", max_length=12)
    code: str | None = secret_field(max_length=40)
    is_anticoagulant: bool = False
    is_insulin: bool = False
    note: str | None = secret_field(max_length=1000)
    status: ClinicalStatus = enum_field(ClinicalStatus, ClinicalStatus.active, length=20)

    _no_control = field_validator("text", "code", "note", mode="before")(reject_control)


class ClinicalEntry(ClinicalEntryBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    source: Source = enum_field(Source, Source.staff, length=10)
    source_detail: str = Field(default="", max_length=200)
    last_confirmed_on: date | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow)


class ClinicalEntryCreate(ClinicalEntryBase):
    pass


class ClinicalEntryPublic(ClinicalEntryBase):
    id: int
    person_id: int
    source: Source
    source_detail: str
    last_confirmed_on: date | None


class EmergencyContactBase(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    kana: str = Field(default="", max_length=100)
    relation: str = Field(default="", max_length=40)  # 続柄
    phone: Phone = Field(min_length=1, max_length=20)
    phone2: Phone = Field(default="", max_length=20)
    note: str = secret_field(default="", max_length=200)  # free text, may be medical ("透析日は不在")

    _no_control = field_validator("name", "kana", "relation", "note", mode="before")(reject_control)


class EmergencyContact(EmergencyContactBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    position: int = 0
    created_at: datetime = created_at_field()


class EmergencyContactCreate(EmergencyContactBase):
    pass


class EmergencyContactPublic(EmergencyContactBase):
    id: int
    position: int


class ConsentBase(SQLModel):
    consented_on: date
    method: str = Field(default="written", max_length=20)  # written / verbal / proxy
    proxy_name: str = Field(default="", max_length=100)  # family member consenting on behalf
    scope: str = Field(default="emergency_sharing", max_length=40)


class Consent(ConsentBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    recorded_by: str = Field(default="", max_length=100)
    withdrawn_on: date | None = None
    withdrawn_by: str = Field(default="", max_length=100)
    withdrawal_reason: str = secret_field(default="", max_length=400)
    created_at: datetime = created_at_field()


class ConsentPublic(ConsentBase):
    id: int
    recorded_by: str
    withdrawn_on: date | None
