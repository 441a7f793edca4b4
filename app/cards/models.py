"""Issued cards: one row per printed credential (card id ‖ serial)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.models import created_at_field, enum_field


class CardStatus(str, Enum):
    active = "active"
    superseded = "superseded"  # replaced by a reissue (lost or damaged)
    revoked = "revoked"  # cancelled: consent withdrawn, died, moved away


class RevokeReason(str, Enum):
    lost = "lost"
    damaged = "damaged"
    consent_withdrawn = "consent_withdrawn"
    deceased = "deceased"
    moved = "moved"
    key_compromised = "key_compromised"  # the key that signed it may have leaked (lifeline keys reissue-cards)
    other = "other"


REISSUE_REASONS = (RevokeReason.lost, RevokeReason.damaged)


class CardBase(SQLModel):
    person_id: int = Field(foreign_key="person.id", index=True)
    # The card id stays the same across reissues of one person's card; the serial counts them.
    card_id: str = Field(max_length=16, index=True)
    serial: int
    status: CardStatus = enum_field(CardStatus, CardStatus.active, length=12)
    issued_at: datetime = created_at_field()
    issued_by: str = Field(default="", max_length=100)
    kid: str = Field(max_length=24)
    revoked_at: datetime | None = None
    revoked_by: str = Field(default="", max_length=100)
    revoke_reason: RevokeReason | None = enum_field(RevokeReason, None, length=20, nullable=True)
    printed_at: datetime | None = None


class Card(CardBase, table=True):
    __table_args__ = (UniqueConstraint("card_id", "serial", name="uq_card_card_id_serial"),)

    id: int | None = Field(default=None, primary_key=True)
    # The QR text exactly as printed; holds no personal data (a signed pointer).
    qr_text: str = Field(max_length=400)
    # Its QR symbol, encoded once at issuance (``card_printing.qr.to_bytes``, 265–312 bytes): the text
    # never changes, and encoding is the costliest part of printing a sheet. NULL for cards issued
    # before migration 0012 until their first print stores it.
    qr_symbol: bytes | None = Field(default=None, sa_type=LargeBinary)

    @property
    def card_number(self) -> str:
        """What is printed under the QR and typed by a crew when the QR is unreadable."""
        cid = self.card_id.upper()
        return f"{cid[0:4]}-{cid[4:8]}-{cid[8:12]}-{cid[12:16]}-{self.serial:02d}"


class CardPublic(CardBase):
    id: int
    card_number: str


class RevocationCounter(SQLModel, table=True):
    """Version of the published revocation list; bumped with every revocation."""

    id: int = Field(default=1, primary_key=True)
    version: int = 0
    changed_at: datetime = created_at_field()
