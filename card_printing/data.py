"""What gets printed, as plain snapshots: layouts draw these and never touch the database.

``app.printing.snapshots`` loads them in a handful of queries. Printed text is always
Japanese (the paper goes to the household, whatever the clerk's UI language).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from card_printing.glyphs import GlyphProblem
from card_printing.qr import QrSymbol


@dataclass(frozen=True, slots=True)
class Issuer:
    """Who the paper says it comes from, and where residents sign in."""

    office: str
    phone: str
    public_url: str


@dataclass(frozen=True, slots=True)
class Doctor:
    name: str
    specialty: str
    institution: str
    phone: str


@dataclass(frozen=True, slots=True)
class Contact:
    name: str  # as printed: the kana reading when the registered name has no glyph
    kana: str
    relation: str
    phone: str
    phone2: str
    note: str


@dataclass(frozen=True, slots=True)
class Entry:
    category: str  # label, e.g. 薬剤 / 定期 / 植込み機器
    text: str
    note: str
    anticoagulant: bool = False
    insulin: bool = False


@dataclass(frozen=True, slots=True)
class CardInfo:
    row_id: int
    card_id: str
    serial: int
    number: str
    symbol: QrSymbol
    # The symbol's bytes (``qr.to_bytes``) when the card row has none, or a damaged one, stored: the batch keeps them.
    symbol_to_store: bytes | None = None


@dataclass(frozen=True, slots=True)
class Home:
    postal_code: str
    address: str
    phone: str
    welfare_commissioner: str


@dataclass(slots=True)
class PersonData:
    id: int
    household_id: int
    name: str  # as printed (印刷用の表記 when set)
    kana: str
    birth_date: date
    sex: str
    blood: str
    phone: str
    dnar: str  # unknown / none / exists
    dnar_location: str
    acp_notes: str
    allergies: tuple[Entry, ...]
    medications: tuple[Entry, ...]
    conditions: tuple[Entry, ...]
    family_doctor: Doctor | None
    second_doctor: Doctor | None
    contacts: tuple[Contact, ...]
    usual_state: str
    infection_notes: str
    insurance: tuple[tuple[str, str], ...]  # (label, value) pairs that are filled in
    last_confirmed_on: date | None
    last_confirmed_by: str
    home: Home
    card: CardInfo | None = None
    refusal: str = ""  # why this person cannot be printed; empty when they can
    problems: list[GlyphProblem] = field(default_factory=list)


@dataclass(slots=True)
class HouseholdData:
    id: int
    home: Home
    members: list[PersonData]  # every member, eldest first; see ``printable``
    kit_printed_at: datetime | None = None

    @property
    def printable(self) -> list[PersonData]:
        """Members who get a sheet: at home, with consent in force."""
        return [m for m in self.members if not m.refusal]

    @property
    def problems(self) -> list[GlyphProblem]:
        return [p for m in self.printable for p in m.problems if not p.substitute]
