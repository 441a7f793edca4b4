"""Households: create, read, update with optimistic locking, and the kit worklist."""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, func
from sqlmodel import Session, select

from app.core.clock import today_jst, utcnow, years_before
from app.core.db import conflict_on_stale
from app.core.errors import Conflict, NotFound, StaleVersion
from app.core.models import Actor
from app.core.text import digits
from app.history import service as history
from app.households.models import Household, HouseholdCreate, HouseholdUpdate
from app.persons.models import Person, PersonStatus

ELDERLY_AGE = 65
_FIELDS = tuple(HouseholdCreate.model_fields)
CONFLICT_MESSAGE = "この世帯は他の職員が先に更新しました。最新の内容を確認してから、もう一度保存してください"


def get(*, session: Session, household_id: int) -> Household:
    """The household, or NotFound."""
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound("世帯が見つかりません")
    return household


def _refuse_taken_ref(session: Session, external_ref: str | None, household_id: int | None = None) -> None:
    # Checked here so a second household with the same registry number is a clear 409, not a database error.
    if (
        external_ref
        and session.exec(
            select(Household.id).where(Household.external_ref == external_ref, Household.id != household_id)
        ).first()
    ):
        raise Conflict("住民記録の世帯番号 %(ref)s は別の世帯に登録されています", ref=external_ref)


def create(*, session: Session, actor: Actor, data: HouseholdCreate, commit: bool = True) -> Household:
    """Register a household."""
    _refuse_taken_ref(session, data.external_ref)
    household = Household(**data.model_dump())
    household.phone_key = digits(household.phone)
    session.add(household)
    session.flush()
    history.record(
        session=session,
        actor=actor,
        entity="household",
        entity_id=household.id,
        action="create",
        household_id=household.id,
    )
    if commit:
        session.commit()
        session.refresh(household)
    return household


def update(
    *, session: Session, actor: Actor, household_id: int, data: HouseholdUpdate, commit: bool = True
) -> Household:
    """Change a household; refuses when someone else saved it since ``data.version``."""
    household = get(session=session, household_id=household_id)
    if household.version != data.version:
        raise StaleVersion(CONFLICT_MESSAGE, current=household)
    before = household.model_dump()
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "external_ref" in changes:
        _refuse_taken_ref(session, changes["external_ref"], household.id)
    for key, value in changes.items():
        setattr(household, key, value)
    household.phone_key = digits(household.phone)
    diff = history.diff(before, household.model_dump(), _FIELDS)
    if diff:
        household.version += 1
        household.updated_at = utcnow()
        history.record(
            session=session,
            actor=actor,
            entity="household",
            entity_id=household.id,
            action="update",
            changes=diff,
            household_id=household.id,
        )
    session.add(household)
    if not commit:
        return household
    with conflict_on_stale(session, CONFLICT_MESSAGE, current=lambda: get(session=session, household_id=household_id)):
        session.commit()
    session.refresh(household)
    return household


def mark_kit_delivered(*, session: Session, actor: Actor, household_id: int, on: date) -> Household:
    """Record the day the 救急医療情報収納セット was handed over."""
    household = get(session=session, household_id=household_id)
    old = household.kit_delivered_on
    household.kit_delivered_on = on
    household.version += 1
    history.record(
        session=session,
        actor=actor,
        entity="household",
        entity_id=household.id,
        action="update",
        changes=[("kit_delivered_on", old.isoformat() if old else None, on.isoformat())],
        household_id=household.id,
    )
    session.add(household)
    with conflict_on_stale(session, CONFLICT_MESSAGE, current=lambda: get(session=session, household_id=household_id)):
        session.commit()
    return household


def members(*, session: Session, household_id: int) -> list[Person]:
    """Members of the household, eldest first."""
    return list(
        session.exec(select(Person).where(Person.household_id == household_id).order_by(Person.birth_date, Person.id))
    )


def is_elderly_only(people: list[Person], today: date | None = None) -> bool:
    """True when the household has living members at home and all are 65 or older."""
    cutoff = years_before(today or today_jst(), ELDERLY_AGE)
    present = [p for p in people if p.status == PersonStatus.active]
    return bool(present) and all(p.birth_date <= cutoff for p in present)


def _elderly_only_clause(today: date):
    cutoff = years_before(today, ELDERLY_AGE)
    active = (Person.household_id == Household.id) & (Person.status == PersonStatus.active)
    return exists().where(active) & ~exists().where(active & (Person.birth_date > cutoff))


def list_households(
    *, session: Session, pending_kit: bool = False, limit: int = 500, offset: int = 0, today: date | None = None
) -> list[Household]:
    """Households by address; with ``pending_kit`` only elderly-only ones whose kit is not delivered."""
    stmt = select(Household).order_by(Household.address_line, Household.id).limit(limit).offset(offset)
    if pending_kit:
        stmt = stmt.where(Household.kit_delivered_on.is_(None), _elderly_only_clause(today or today_jst()))
    return list(session.exec(stmt))


def counts(*, session: Session, today: date | None = None) -> dict[str, int]:
    """Figures for the staff dashboard."""
    today = today or today_jst()
    total = session.exec(select(func.count()).select_from(Household)).one()
    elderly = session.exec(select(func.count()).select_from(Household).where(_elderly_only_clause(today))).one()
    pending = session.exec(
        select(func.count())
        .select_from(Household)
        .where(Household.kit_delivered_on.is_(None), _elderly_only_clause(today))
    ).one()
    persons = session.exec(select(func.count()).select_from(Person)).one()
    return {"households": total, "elderly_only": elderly, "pending_kits": pending, "persons": persons}
