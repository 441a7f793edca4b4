"""Resident access codes: one live code per household, printed only on the issuance letter."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.models import created_at_field


class ResidentAccessCode(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    # Argon2 hash of the code; the plaintext exists only on paper.
    code_hash: str = Field(max_length=200)
    issued_at: datetime = created_at_field()
    revoked_at: datetime | None = None


class CodeAttempt(SQLModel, table=True):
    """A failed first sign-in with an access code, counted for the lock-out (kept one day).

    ``subject`` is a SHA-256 of the birth date typed, so the table keeps no list of dates of birth.
    """

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, nullable=False, index=True)
    ip: str = Field(default="", max_length=64, index=True)
    subject: str = Field(default="", max_length=64, index=True)
