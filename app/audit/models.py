"""Audit events, chained by SHA-256 so that a changed, removed or inserted row is detectable.

Events, checkpoints and reviews are append-only: nothing in the code updates or deletes them,
and on PostgreSQL and SQLite a trigger refuses UPDATE, DELETE (and TRUNCATE) outright.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.models import created_at_field


class AuditEventBase(SQLModel):
    at: datetime = created_at_field()
    actor_user_id: int | None = Field(default=None, index=True)
    actor_username: str = Field(default="", max_length=64)
    actor_role: str = Field(default="", max_length=16)
    organisation: str = Field(default="", max_length=200)
    device: str = Field(default="", max_length=100)
    action: str = Field(max_length=40, index=True)  # e.g. person.view, auth.login_failed
    person_id: int | None = Field(default=None, index=True)
    household_id: int | None = Field(default=None, index=True)
    fields: str = Field(default="", max_length=400)  # which sections were shown or changed
    purpose: str = Field(default="", max_length=400)  # why: reason / purpose
    incident: str = Field(default="", max_length=60)  # incident number for EMS views
    emergency: bool = False  # access without consent, to protect life (APPI 27-1-2)
    outcome: str = Field(default="ok", max_length=20)
    ip: str = Field(default="", max_length=45)


class AuditEvent(AuditEventBase, table=True):
    __table_args__ = (Index("ix_auditevent_at", "at"),)  # date-range searches and monthly statistics

    # ``id`` always equals ``seq`` (the writer sets both), so renumbering a row is detected too.
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The single row holding the chain's tip; updating it first serialises appenders."""

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)


class AuditEventPublic(AuditEventBase):
    id: int
    seq: int


class AuditCheckpoint(SQLModel, table=True):
    """The chain's hash at ``seq``, signed with the server's audit key (app.audit.signing)."""

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)
    hash: str = Field(max_length=64)
    prev_seq: int = 0  # the previous checkpoint's seq (0 for the first)
    signed_at: datetime = created_at_field()
    kid: str = Field(max_length=24)
    signature: str = Field(max_length=200)


class AuditReview(SQLModel, table=True):
    """Someone responsible looked at an access (a doctor, an admin); the event itself is untouched."""

    id: int | None = Field(default=None, primary_key=True)
    event_seq: int = Field(index=True)
    kind: str = Field(default="access", max_length=40)  # access, or anomaly:<rule>
    reviewer_user_id: int = Field(foreign_key="user.id", index=True)
    reviewer_role: str = Field(default="", max_length=16)
    reviewed_at: datetime = created_at_field()
    note: str = Field(default="", max_length=400)
