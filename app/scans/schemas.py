"""The emergency summary a crew sees, in the priority order of DESIGN.md §3."""
from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlmodel import SQLModel


class ScanRequest(SQLModel):
    qr: str = Field(max_length=10_240, description="The decoded QR text")
    incident: str = Field(default="", max_length=60, description="Incident number; empty means 'no number yet'")
    reason: str = Field(default="", max_length=400, description="Why the record is opened (required without consent)")


class SummaryEntry(SQLModel):
    text: str
    category: str
    category_label: str
    code_system: str = ""
    code: str | None = None
    is_anticoagulant: bool = False
    is_insulin: bool = False
    note: str | None = None
    source: str
    source_label: str
    source_detail: str
    confirmed_on: date | None
    # Confirmed by a doctor or a hospital, as opposed to stated by the resident or staff.
    clinically_confirmed: bool


class SummaryDoctor(SQLModel):
    role: str  # family / second
    name: str
    specialty: str
    institution: str
    phone: str


class SummaryContact(SQLModel):
    name: str
    kana: str
    relation: str
    phone: str
    phone2: str
    note: str


class EmergencySummary(SQLModel):
    person_id: int
    name: str
    kana: str
    birth_date: date
    birth_date_wareki: str
    age: int
    sex: str
    sex_label: str
    dnar_status: str
    dnar_location: str | None
    acp_notes: str | None
    allergies: list[SummaryEntry]
    medications: list[SummaryEntry]
    conditions: list[SummaryEntry]
    doctors: list[SummaryDoctor]
    contacts: list[SummaryContact]
    blood_type: str
    usual_state: str | None
    infection_notes: str | None
    insurance_kind: str
    insurer_number: str | None
    insurance_symbol: str | None
    insurance_number: str | None
    insurance_branch: str | None
    address: str
    phone: str
    welfare_commissioner: str
    welfare_commissioner_phone: str
    last_confirmed_on: date | None
    last_confirmed_source: str | None
    last_confirmed_by: str
    consent_in_force: bool


class ScanResult(SQLModel):
    status: str
    message: str
    reason: str | None = None
    card_number: str | None = None
    newer_card_exists: bool = False
    emergency_access: bool = False
    audit_id: int | None = None
    summary: EmergencySummary | None = None
