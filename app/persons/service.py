"""Persons: register, read, update with history, search."""

from __future__ import annotations

import re

from sqlalchemy import union
from sqlmodel import Session, select

from app.core.clock import today_jst, utcnow
from app.core.db import conflict_on_stale
from app.core.errors import Invalid, NotFound, StaleVersion
from app.core.models import Actor
from app.core.text import digits, is_kana, kana_key, name_key, normalise_number, strip_control
from app.core.wareki import WarekiError, parse_date
from app.directory.models import Practitioner
from app.history import service as history
from app.households.models import Household
from app.persons.models import Person, PersonCreate, PersonUpdate

_FIELDS = tuple(PersonCreate.model_fields)
SEARCH_LIMIT = 50
CONFLICT_MESSAGE = "この方の情報は他の利用者が先に更新しました。最新の内容を確認してから、もう一度保存してください"


def _refresh_keys(person: Person) -> None:
    person.name_key = name_key(person.family_name + person.given_name)
    person.kana_key = kana_key(person.family_name_kana + person.given_name_kana)
    person.phone_key = digits(person.phone)


def _check_doctors(session: Session, data: PersonCreate) -> None:
    for field in ("family_doctor_id", "second_doctor_id"):
        pid = getattr(data, field)
        if pid is not None and session.get(Practitioner, pid) is None:
            raise Invalid("医師が見つかりません", field=field)


def get(*, session: Session, person_id: int) -> Person:
    """The person, or NotFound."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("登録者が見つかりません")
    return person


def create(*, session: Session, actor: Actor, household_id: int, data: PersonCreate, commit: bool = True) -> Person:
    """Register a member of a household."""
    if session.get(Household, household_id) is None:
        raise NotFound("世帯が見つかりません")
    _check_doctors(session, data)
    person = Person(**data.model_dump(), household_id=household_id)
    _refresh_keys(person)
    if person.last_confirmed_on is None:
        person.last_confirmed_on = today_jst()
        person.last_confirmed_source = actor.source
    person.last_confirmed_by = actor.name
    session.add(person)
    session.flush()
    history.record(
        session=session,
        actor=actor,
        entity="person",
        entity_id=person.id,
        action="create",
        person_id=person.id,
        household_id=household_id,
    )
    if commit:
        session.commit()
        session.refresh(person)
    return person


def update(*, session: Session, actor: Actor, person_id: int, data: PersonUpdate, commit: bool = True) -> Person:
    """Change a person; refuses when someone else saved since ``data.version``.

    A move or a death also ends the card: routes call ``app.persons.flows.update_person``.
    """
    person = get(session=session, person_id=person_id)
    if person.version != data.version:
        raise StaleVersion(CONFLICT_MESSAGE, current=person)
    _check_doctors(session, data)
    before = person.model_dump()
    for key, value in data.model_dump(exclude_unset=True, exclude={"version"}).items():
        setattr(person, key, value)
    _refresh_keys(person)
    diff = history.diff(before, person.model_dump(), _FIELDS)
    if diff:
        person.version += 1
        person.updated_at = utcnow()
        person.last_confirmed_on = today_jst()
        person.last_confirmed_source = actor.source
        person.last_confirmed_by = actor.name
        history.record(
            session=session,
            actor=actor,
            entity="person",
            entity_id=person.id,
            action="update",
            changes=diff,
            person_id=person.id,
            household_id=person.household_id,
        )
    session.add(person)
    if commit:
        save(session=session, person=person)
    return person


def save(*, session: Session, person: Person) -> None:
    """Commit a change to ``person``; refuses when someone else saved it in the meantime."""
    with conflict_on_stale(session, CONFLICT_MESSAGE, current=lambda: get(session=session, person_id=person.id)):
        session.commit()
    session.refresh(person)


def search(*, session: Session, query: str, limit: int = SEARCH_LIMIT) -> list[tuple[Person, Household]]:
    """Find persons by kana, kanji, phone, address or birth date (和暦 accepted)."""
    q = strip_control(query or "").strip()[:100]
    if not q:
        return []
    # Each kind of match selects person ids on its own and only where the input can match (a date
    # is no name, a phone number no date), so the database scans one narrow index or seeks one per
    # condition, instead of testing every condition on every row of person ⋈ household: ~650 ms
    # → a few tens of ms at 200,000 persons (benchmarks/scale.py, docs/decisions.md "Scale").
    ids = [select(Person.id).where(Person.external_ref == q)]
    try:
        ids.append(select(Person.id).where(Person.birth_date == parse_date(q)))
    except WarekiError:
        number = digits(q)
        phone = len(number) >= 4 and re.fullmatch(r"[\d\-\s()]+", normalise_number(q))
        households = [select(Household.id).where(Household.address_line.contains(q, autoescape=True))]
        if phone:
            ids.append(select(Person.id).where(Person.phone_key.contains(number, autoescape=True)))
            households.append(select(Household.id).where(Household.phone_key.contains(number, autoescape=True)))
        else:
            ids.append(select(Person.id).where(Person.name_key.contains(name_key(q), autoescape=True)))
        if is_kana(q):
            ids.append(select(Person.id).where(Person.kana_key.contains(kana_key(q), autoescape=True)))
        ids.append(select(Person.id).where(Person.household_id.in_(union(*households))))
    stmt = (
        select(Person, Household)
        .join(Household, Household.id == Person.household_id)
        .where(Person.id.in_(union(*ids)))
        .order_by(Person.kana_key, Person.id)
        .limit(limit)
    )
    return list(session.exec(stmt))
