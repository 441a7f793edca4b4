"""Reading back what a scan route wrote to the audit log."""

from __future__ import annotations

from sqlmodel import Session, select

from app.audit.models import AuditEvent


def last_event(db: Session, action: str) -> AuditEvent:
    """The newest audit record of ``action``."""
    return db.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())).first()


def head_seq(db: Session) -> int:
    """The newest audit record's seq (0 for an empty log): what a test wrote comes after it."""
    return db.exec(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).first() or 0
