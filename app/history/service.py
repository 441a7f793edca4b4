"""Record changes field by field, and read them back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum

from sqlmodel import Session, SQLModel, or_, select

from app.core.models import Actor
from app.history.models import Change


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def diff(before: dict, after: dict, fields: Iterable[str]) -> list[tuple[str, str | None, str | None]]:
    """Fields whose textual value differs, as (field, old, new)."""
    out = []
    for f in fields:
        old, new = _text(before.get(f)), _text(after.get(f))
        if (old or "") != (new or ""):
            out.append((f, old, new))
    return out


def record(
    *,
    session: Session,
    actor: Actor,
    entity: str,
    entity_id: int,
    action: str,
    changes: list[tuple[str, str | None, str | None]] | None = None,
    person_id: int | None = None,
    household_id: int | None = None,
) -> None:
    """Add one history row per changed field (or one row for a create/remove)."""
    rows = changes or [("", None, None)]
    for field, old, new in rows:
        session.add(
            Change(
                actor=actor.name,
                user_id=actor.user_id,
                source=actor.source,
                entity=entity,
                entity_id=entity_id,
                action=action,
                field=field,
                old_value=old,
                new_value=new,
                person_id=person_id,
                household_id=household_id,
            )
        )


def snapshot(obj: SQLModel) -> dict:
    return obj.model_dump()


def list_for_person(*, session: Session, person_id: int, household_id: int, limit: int = 500) -> list[Change]:
    """Changes to the person and to their household, newest first."""
    stmt = (
        select(Change)
        .where(or_(Change.person_id == person_id, (Change.household_id == household_id) & (Change.person_id.is_(None))))
        .order_by(Change.at.desc(), Change.id.desc())
        .limit(limit)
    )
    return list(session.exec(stmt))
