"""Accesses that deserve a second look, flagged on the admin audit page (thresholds in Settings).

Rules: one account viewing many different persons in a short time; a crew viewing without an
incident number; a crew access from a device that is not enrolled; a card scanned offline that
was revoked or unknown by the time the record arrived (the device showed it as genuine); office
roles at odd hours.
An anomaly disappears from the panel once an admin has reviewed it (an ``AuditReview`` of kind
``anomaly:<rule>`` on its key event); the events themselves are never touched.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from app.audit.models import AuditEvent, AuditReview
from app.core.clock import to_jst, utcnow
from app.core.config import Settings

# Reads that show a person's data (a search shows no dataset, a refused read showed nothing).
PERSON_READS = ("person.view", "person.history", "scan.view", "scan.offline")
CREW_VIEWS = ("scan.view", "scan.offline")
RULES = ("burst", "no_incident", "unenrolled_device", "offline_revoked", "odd_hours")


@dataclass
class Anomaly:
    rule: str
    key_seq: int  # the event a review is attached to
    at: datetime
    username: str
    role: str
    organisation: str
    count: int = 1  # events (or distinct persons, for a burst) involved
    last_seq: int = 0
    detail: str = ""

    def __post_init__(self):
        self.last_seq = self.last_seq or self.key_seq


def _bursts(events: list[AuditEvent], persons: int, minutes: int) -> list[Anomaly]:
    out: list[Anomaly] = []
    span = timedelta(minutes=minutes)
    by_actor: dict[tuple, list[AuditEvent]] = {}
    for e in events:
        if e.action in PERSON_READS and e.person_id is not None and e.outcome == "ok":
            by_actor.setdefault((e.actor_user_id, e.actor_username), []).append(e)
    for actor_events in by_actor.values():
        window: deque[AuditEvent] = deque()
        seen: Counter[int] = Counter()
        current: Anomaly | None = None
        for e in actor_events:
            window.append(e)
            seen[e.person_id] += 1
            while window and e.at - window[0].at > span:
                old = window.popleft()
                seen[old.person_id] -= 1
                if not seen[old.person_id]:
                    del seen[old.person_id]
            if len(seen) >= persons:
                if current is None:
                    current = Anomaly(
                        "burst", e.seq, e.at, e.actor_username, e.actor_role, e.organisation, count=len(seen)
                    )
                    out.append(current)
                current.count, current.last_seq = max(current.count, len(seen)), e.seq
            else:
                current = None
    return out


def _odd(hour: int, start: int, end: int) -> bool:
    return start <= hour < end if start < end else hour >= start or hour < end


def detect(
    *, session: Session, settings: Settings, enrolled_devices: set[str], now: datetime | None = None
) -> list[Anomaly]:
    """Unreviewed anomalies of the last ``audit_anomaly_days`` days, newest first."""
    since = (now or utcnow()) - timedelta(days=settings.audit_anomaly_days)
    events = list(session.exec(select(AuditEvent).where(AuditEvent.at >= since).order_by(AuditEvent.seq)))
    found = _bursts(events, settings.audit_burst_persons, settings.audit_burst_minutes)
    odd_roles = {r.strip() for r in settings.audit_odd_hours_roles.split(",") if r.strip()}
    nights: dict[tuple, Anomaly] = {}
    for e in events:
        if e.action in CREW_VIEWS and not e.incident.strip():
            found.append(
                Anomaly("no_incident", e.seq, e.at, e.actor_username, e.actor_role, e.organisation, detail=e.purpose)
            )
        if e.actor_role == "paramedic" and e.action.startswith("scan.") and e.device not in enrolled_devices:
            found.append(
                Anomaly(
                    "unenrolled_device", e.seq, e.at, e.actor_username, e.actor_role, e.organisation, detail=e.device
                )
            )
        if e.action == "scan.offline" and e.outcome != "ok":
            found.append(
                Anomaly(
                    "offline_revoked", e.seq, e.at, e.actor_username, e.actor_role, e.organisation, detail=e.outcome
                )
            )
        local = to_jst(e.at)
        if (
            e.actor_role in odd_roles
            and e.action not in ("auth.login_failed",)
            and e.outcome in ("ok", "requested")
            and _odd(local.hour, settings.audit_odd_hours_start, settings.audit_odd_hours_end)
        ):
            # One anomaly per account and night, not one per click.
            night = (local - timedelta(hours=settings.audit_odd_hours_end)).date()
            key = (e.actor_user_id, e.actor_username, night)
            if key in nights:
                nights[key].count += 1
                nights[key].last_seq = e.seq
            else:
                nights[key] = Anomaly("odd_hours", e.seq, e.at, e.actor_username, e.actor_role, e.organisation)
                found.append(nights[key])
    reviewed = {
        (r.kind, r.event_seq) for r in session.exec(select(AuditReview).where(AuditReview.kind.startswith("anomaly:")))
    }
    return sorted(
        (a for a in found if (f"anomaly:{a.rule}", a.key_seq) not in reviewed), key=lambda a: a.key_seq, reverse=True
    )
