"""Shared column helpers and vocabularies used by several domains."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

from pydantic import BeforeValidator
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field

from app.core.clock import utcnow
from app.core.crypto import EncryptedText
from app.core.text import digits, has_control_chars, normalise_number


class Source(str, Enum):
    """Who last stated or confirmed a piece of data (DESIGN.md §3)."""

    resident = "resident"
    staff = "staff"
    doctor = "doctor"
    network = "network"
    imported = "import"


def reject_control(value):
    """Validator: refuse NUL and other control characters, trim surrounding space."""
    if isinstance(value, str) and has_control_chars(value):
        raise ValueError("制御文字（NULなど）は使えません")
    return value.strip() if isinstance(value, str) else value


def _phone(value):
    """A phone number with its digits and hyphens folded to half-width; 9 to 13 digits, or empty."""
    if not isinstance(value, str | None):
        return value  # not text: the declared type refuses it with a clear 422
    value = normalise_number(value or "")
    if value and not 9 <= len(digits(value)) <= 13:
        raise ValueError("電話番号の桁数が正しくありません")
    return value


# A phone number field: ``phone: Phone = Field(default="", max_length=20)``.
Phone = Annotated[str, BeforeValidator(_phone)]


def created_at_field() -> datetime:
    return Field(default_factory=utcnow, nullable=False)


def enum_field(enum: type[Enum], default=..., *, length: int = 20, nullable: bool = False, **kw):
    """A str-Enum stored by value in a plain VARCHAR (no database enum type to migrate)."""
    column_type = SAEnum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
    return Field(default=default, sa_type=column_type, nullable=nullable, **kw)


def secret_field(default=None, **kw):
    """Medical or insurance text, encrypted at rest (app.core.crypto)."""
    return Field(default=default, sa_type=EncryptedText, **kw)


class Actor:
    """Whoever causes a change: a signed-in user, an import run, or (later) a network client."""

    __slots__ = ("user_id", "name", "source", "role")

    def __init__(self, *, user_id: int | None, name: str, source: Source, role: str = ""):
        self.user_id, self.name, self.source, self.role = user_id, name, source, role


def optimistic_lock(cls) -> dict:
    """Mapper args making every UPDATE check the version it read (``WHERE version = :seen``).

    Services bump ``version`` themselves; a concurrent writer makes the UPDATE match no row,
    SQLAlchemy raises StaleDataError and the service reports a conflict. Nothing is lost.
    """
    return {"version_id_col": cls.__table__.c.version, "version_id_generator": False}
