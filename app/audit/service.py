"""Append audit events, sign checkpoints, search and review. There is no update or delete here."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from annotated_types import MaxLen
from sqlalchemy import Integer, String, bindparam, func, insert, or_, update
from sqlmodel import Session, select

from app.audit.chain import GENESIS, at_text, canonical, checkpoint_message, digest  # noqa: F401  (re-exported)
from app.audit.models import AuditCheckpoint, AuditEvent, AuditEventBase, AuditHead, AuditReview
from app.audit.signing import audit_keys
from app.core.clock import JST, utcnow
from app.core.config import get_settings
from app.core.db import get_audit_engine, get_engine
from app.core.errors import Invalid, NotFound

log = logging.getLogger(__name__)

# Longest value each text column takes: longer input is cut rather than failing the append
# (a failed append withholds data from a crew, which must not hinge on an overlong user agent).
_LIMITS = {
    name: next((m.max_length for m in info.metadata if isinstance(m, MaxLen)), None)
    for name, info in AuditEventBase.model_fields.items()
    if info.annotation is str
}


class AuditUnavailable(Exception):
    """The audit record could not be written; the caller must not show the data."""


def _clean(fields: dict) -> dict:
    out = dict(fields)
    for name, limit in _LIMITS.items():
        value = out.get(name)
        if isinstance(value, str):
            # PostgreSQL refuses NUL in text; the record must still be written.
            value = value.replace("\x00", "\ufffd")
            out[name] = value[:limit] if limit else value
    return out


def _sign_checkpoint(session: Session, *, seq: int, hash: str) -> AuditCheckpoint:
    prev_seq = session.exec(select(func.max(AuditCheckpoint.seq))).one() or 0
    signed_at = utcnow()
    keys = audit_keys()
    kid, _ = keys.signer()
    message = checkpoint_message(seq=seq, hash=hash, prev_seq=prev_seq, signed_at=at_text(signed_at), kid=kid)
    _, signature = keys.sign(message)
    return AuditCheckpoint(seq=seq, hash=hash, prev_seq=prev_seq, signed_at=signed_at, kid=kid, signature=signature)


_COLUMNS = tuple(c.name for c in AuditEvent.__table__.columns)
# Appenders of one process queue on this mutex rather than in SQLite's busy handler, which
# sleeps in steps of up to 100 ms; between processes the database's own lock serialises them.
_append_lock = threading.Lock()


# Table (Core) statements built once: through the ORM's bulk paths these cost ~1 ms per access
# recorded, i.e. on every scan (benchmarks/scale.py).
_HEAD, _EVENTS = AuditHead.__table__, AuditEvent.__table__
_BUMP_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + bindparam("n", type_=Integer))
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("new_hash", type_=String))


def _writer(engine):
    """The app's engine → the writer's own connection (app.core.db.get_audit_engine); others as given."""
    return get_audit_engine() if engine is get_engine() else engine


def append(*, engine, **fields) -> AuditEvent:
    """Write one event in its own committed transaction, chained to the previous one.

    Every ``audit_checkpoint_every`` records a signed checkpoint is written with it. Raises
    :class:`AuditUnavailable` when the event cannot be written, so callers withhold data.
    """
    return append_many(engine=engine, events=[fields])[0]


def append_many(*, engine, events: Sequence[dict]) -> list[AuditEvent]:
    """Write events chained in the given order, all in one committed transaction (all or none).

    For accesses recorded in bulk (a print batch): one lock and one commit for many records.
    The chain is exactly what as many ``append`` calls would write. Raises
    :class:`AuditUnavailable` when the events cannot be written.
    """
    if not events:
        return []
    try:
        with _append_lock, Session(_writer(engine), expire_on_commit=False) as session:
            # Bumping the head first takes the write lock (SQLite) or row lock (PostgreSQL),
            # so concurrent appenders queue here and the chain never forks. Core statements, no
            # ORM unit of work: the lock is held for as short a time as possible.
            last, prev_hash = session.execute(_BUMP_HEAD, {"n": len(events)}).one()
            written = []
            for seq, fields in enumerate(events, start=last - len(events) + 1):
                event = AuditEvent(id=seq, seq=seq, prev_hash=prev_hash, **_clean(fields))
                event.at = utcnow()
                event.hash = prev_hash = digest(event)
                written.append(event)
            session.execute(insert(_EVENTS), [{c: getattr(event, c) for c in _COLUMNS} for event in written])
            session.execute(_SET_HEAD_HASH, {"new_hash": prev_hash})
            every = get_settings().audit_checkpoint_every
            for event in written:
                if event.seq % every == 0:
                    try:
                        session.add(_sign_checkpoint(session, seq=event.seq, hash=event.hash))
                        session.flush()  # the next checkpoint of this batch chains to it
                    except OSError:
                        # An unreadable key directory must not stop a crew from seeing the data;
                        # `audit verify` reports the missing checkpoint and `audit checkpoint` adds one.
                        log.exception("audit checkpoint at seq %s could not be signed", event.seq)
            session.commit()
            return written
    except Exception as exc:  # noqa: BLE001 - any failure means "not recorded"
        raise AuditUnavailable(str(exc)) from exc


def checkpoint(*, engine) -> AuditCheckpoint:
    """Sign the chain's current tip now (``lifeline audit checkpoint``); the existing one if already signed."""
    with _append_lock, Session(engine, expire_on_commit=False) as session:
        session.exec(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))  # lock the head
        head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
        if head.seq == 0:
            raise Invalid("記録がまだないため、チェックポイントを作れません")
        existing = session.exec(select(AuditCheckpoint).where(AuditCheckpoint.seq == head.seq)).first()
        if existing is not None:
            session.commit()  # releases the lock (the head is unchanged)
            return existing
        cp = _sign_checkpoint(session, seq=head.seq, hash=head.hash)
        session.add(cp)
        session.commit()
        return cp


@dataclass
class AuditFilter:
    """What the audit views search by; empty means "any"."""

    person_ids: list[int] | None = None
    household_id: int | None = None
    username: str = ""
    organisation: str = ""
    date_from: date | None = None  # JST calendar days, inclusive
    date_to: date | None = None
    action: str = ""  # exact, or a prefix ending in "." (e.g. "scan.")
    emergency_only: bool = False
    outcome: str = ""
    unreviewed_by: int | None = None  # only events this user has not reviewed
    exclude_actions: tuple[str, ...] = ()
    exclude_actor: int | None = None


def jst_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=JST)


def _where(stmt, f: AuditFilter):
    if f.person_ids is not None and f.household_id is not None:
        stmt = stmt.where(or_(AuditEvent.person_id.in_(f.person_ids), AuditEvent.household_id == f.household_id))
    elif f.person_ids is not None:
        stmt = stmt.where(AuditEvent.person_id.in_(f.person_ids))
    elif f.household_id is not None:
        stmt = stmt.where(AuditEvent.household_id == f.household_id)
    if f.username:
        stmt = stmt.where(AuditEvent.actor_username == f.username)
    if f.organisation:
        stmt = stmt.where(AuditEvent.organisation.contains(f.organisation, autoescape=True))
    if f.date_from:
        stmt = stmt.where(AuditEvent.at >= jst_day_start(f.date_from))
    if f.date_to:
        stmt = stmt.where(AuditEvent.at < jst_day_start(f.date_to + timedelta(days=1)))
    if f.action.endswith("."):
        stmt = stmt.where(AuditEvent.action.startswith(f.action, autoescape=True))
    elif f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.emergency_only:
        stmt = stmt.where(AuditEvent.emergency == True)  # noqa: E712 - SQL expression
    if f.outcome:
        stmt = stmt.where(AuditEvent.outcome == f.outcome)
    if f.unreviewed_by is not None:
        reviewed = select(AuditReview.event_seq).where(AuditReview.reviewer_user_id == f.unreviewed_by)
        stmt = stmt.where(AuditEvent.seq.not_in(reviewed))
    if f.exclude_actions:
        stmt = stmt.where(AuditEvent.action.not_in(f.exclude_actions))
    if f.exclude_actor is not None:
        stmt = stmt.where(or_(AuditEvent.actor_user_id.is_(None), AuditEvent.actor_user_id != f.exclude_actor))
    return stmt


def search(*, session: Session, filter: AuditFilter, limit: int = 100, offset: int = 0) -> tuple[list[AuditEvent], int]:
    """Matching events, newest first, and how many match in all."""
    if filter.person_ids == []:
        return [], 0
    total = session.exec(_where(select(func.count()).select_from(AuditEvent), filter)).one()
    rows = session.exec(_where(select(AuditEvent), filter).order_by(AuditEvent.seq.desc()).limit(limit).offset(offset))
    return list(rows), total


def iter_matching(*, session: Session, filter: AuditFilter, batch: int = 1000):
    """Every matching event, newest first, in lists of ``batch`` (for the CSV export)."""
    if filter.person_ids == []:
        return
    stmt = _where(select(AuditEvent), filter).order_by(AuditEvent.seq.desc()).execution_options(yield_per=batch)
    yield from session.exec(stmt).partitions(batch)


def get_event(*, session: Session, seq: int) -> AuditEvent:
    """One event by its sequence number."""
    event = session.exec(select(AuditEvent).where(AuditEvent.seq == seq)).first()
    if event is None:
        raise NotFound("アクセス記録が見つかりません")
    return event


def reviews_for(*, session: Session, seqs: list[int]) -> dict[int, list[AuditReview]]:
    """Reviews of the given events, oldest first, by event."""
    out: dict[int, list[AuditReview]] = {}
    if seqs:
        for review in session.exec(select(AuditReview).where(AuditReview.event_seq.in_(seqs)).order_by(AuditReview.id)):
            out.setdefault(review.event_seq, []).append(review)
    return out


def add_review(
    *, session: Session, event_seq: int, reviewer_user_id: int, reviewer_role: str, kind: str = "access", note: str = ""
) -> AuditReview:
    """Record that someone responsible reviewed an access (idempotent per reviewer and kind)."""
    existing = session.exec(
        select(AuditReview).where(
            AuditReview.event_seq == event_seq,
            AuditReview.reviewer_user_id == reviewer_user_id,
            AuditReview.kind == kind,
        )
    ).first()
    if existing is not None:
        return existing
    review = AuditReview(
        event_seq=event_seq,
        kind=kind,
        reviewer_user_id=reviewer_user_id,
        reviewer_role=reviewer_role,
        note=note.strip()[:400],
    )
    session.add(review)
    session.commit()
    session.refresh(review)
    return review
