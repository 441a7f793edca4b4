"""EMS handoff: the receiving hospital sees the incoming patient and acknowledges; the crew sees that."""

from __future__ import annotations

from sqlmodel import Session, select

from app.core.clock import utcnow
from app.core.errors import Forbidden, NotFound
from app.scans.models import Transport


def latest_transport(*, session: Session, audit_id: int) -> Transport | None:
    """The crew's current choice for one scan (the latest counts)."""
    return session.exec(select(Transport).where(Transport.audit_id == audit_id).order_by(Transport.id.desc())).first()


def acknowledge(*, session: Session, audit_id: int, institution_id: int | None, by: str) -> Transport:
    """The hospital accepts the incoming patient; acknowledging twice keeps the first time."""
    transport = latest_transport(session=session, audit_id=audit_id)
    if transport is None:
        raise NotFound("この搬送の記録が見つかりません")
    if institution_id is None or transport.institution_id != institution_id:
        raise Forbidden("この搬送はあなたの医療機関宛てではありません")
    if transport.acknowledged_at is None:
        transport.acknowledged_at = utcnow()
        transport.acknowledged_by = by[:100]
        session.add(transport)
        session.commit()
        session.refresh(transport)
    return transport
