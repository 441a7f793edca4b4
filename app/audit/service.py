"""Append and read audit events. There is deliberately no update or delete here."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from app.audit.models import AuditEvent, AuditHead
from app.core.clock import utcnow

GENESIS = "0" * 64
_CHAINED = (
    "seq", "at", "actor_user_id", "actor_username", "actor_role", "organisation", "device",
    "action", "person_id", "household_id", "fields", "purpose", "incident", "emergency",
    "outcome", "ip", "prev_hash",
)


class AuditUnavailable(Exception):
    """The audit record could not be written; the caller must not show the data."""


def canonical(event: AuditEvent) -> bytes:
    """Stable bytes for hashing: the chained fields as sorted-key compact JSON."""
    doc = {}
    for name in _CHAINED:
        value = getattr(event, name)
        doc[name] = value.isoformat(timespec="microseconds") if isinstance(value, datetime) else value
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def append(*, engine, **fields) -> AuditEvent:
    """Write one event in its own committed transaction, chained to the previous one.

    Raises :class:`AuditUnavailable` when it cannot be written, so callers withhold data.
    """
    try:
        with Session(engine) as session:
            # Bumping the head first takes the write lock (SQLite) or row lock (PostgreSQL),
            # so concurrent appenders queue here and the chain never forks.
            session.exec(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
            head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
            event = AuditEvent(seq=head.seq, prev_hash=head.hash, **fields)
            event.at = utcnow()
            event.hash = digest(event)
            head.hash = event.hash
            session.add(event)
            session.add(head)
            session.commit()
            session.refresh(event)
            return event
    except Exception as exc:  # noqa: BLE001 - any failure means "not recorded"
        raise AuditUnavailable(str(exc)) from exc


def list_events(*, session: Session, person_id: int | None = None, limit: int = 200) -> list[AuditEvent]:
    """Newest events first, optionally for one person."""
    stmt = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if person_id is not None:
        stmt = stmt.where(AuditEvent.person_id == person_id)
    return list(session.exec(stmt))
