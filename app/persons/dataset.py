"""The clinical entries, emergency contacts and consents of a person, each change kept in history."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Row, bindparam, exists, func
from sqlmodel import Session, select

from app.core.clock import today_jst, utcnow
from app.core.errors import Invalid, NotFound
from app.core.labels import LABELS
from app.core.models import Actor
from app.history import service as history
from app.persons.models import (
    CATEGORIES,
    ClinicalEntry,
    ClinicalEntryCreate,
    ClinicalKind,
    ClinicalStatus,
    Consent,
    ConsentBase,
    EmergencyContact,
    EmergencyContactCreate,
    Person,
)


def _person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("登録者が見つかりません")
    return person


# Which rows count and in what order, in one place for the lists below and for the emergency
# summary's readers (``*_rows``, ``consent_in_force``), which skip the ORM on every scan.
_ENTRY_ORDER = (ClinicalEntry.kind, ClinicalEntry.id)
_CONTACT_ORDER = (EmergencyContact.position, EmergencyContact.id)


def _active_entries(person_id: int) -> tuple:
    return ClinicalEntry.person_id == person_id, ClinicalEntry.status == ClinicalStatus.active


def _in_force(person_id: int) -> tuple:
    return Consent.person_id == person_id, Consent.withdrawn_on.is_(None)


def list_entries(*, session: Session, person_id: int, active_only: bool = True) -> list[ClinicalEntry]:
    """Clinical entries of a person grouped by kind, newest first within a kind."""
    conditions = _active_entries(person_id) if active_only else (ClinicalEntry.person_id == person_id,)
    return list(session.exec(select(ClinicalEntry).where(*conditions).order_by(*_ENTRY_ORDER)))


# Built once with the same conditions (bound at execution): building a statement per call costs
# more than running it.
_ENTRY_ROWS = select(*ClinicalEntry.__table__.c).where(*_active_entries(bindparam("person_id"))).order_by(*_ENTRY_ORDER)


def entry_rows(*, session: Session, person_id: int) -> list[Row]:
    """The active entries as plain rows (decrypted), in ``list_entries``' order."""
    return session.connection().execute(_ENTRY_ROWS, {"person_id": person_id}).all()


def add_entry(
    *, session: Session, actor: Actor, person_id: int, data: ClinicalEntryCreate, commit: bool = True
) -> ClinicalEntry:
    """Add an allergy, medication or condition with its source and confirmation date."""
    person = _person(session, person_id)
    kind = ClinicalKind(data.kind)
    category = data.category or CATEGORIES[kind][0]
    if category not in CATEGORIES[kind]:
        raise Invalid("分類が正しくありません", field="category")
    if kind != ClinicalKind.medication and (data.is_anticoagulant or data.is_insulin):
        raise Invalid("抗凝固薬・インスリンの印は薬にだけ付けられます", field="is_anticoagulant")
    entry = ClinicalEntry(
        **data.model_dump(exclude={"category"}),
        category=category,
        person_id=person.id,
        source=actor.source,
        source_detail=actor.name,
        last_confirmed_on=today_jst(),
    )
    session.add(entry)
    session.flush()
    history.record(
        session=session,
        actor=actor,
        entity="clinical",
        entity_id=entry.id,
        action="create",
        changes=[(kind.value, None, entry.text)],
        person_id=person.id,
        household_id=person.household_id,
    )
    if commit:
        session.commit()
        session.refresh(entry)
    return entry


def end_entry(*, session: Session, actor: Actor, entry_id: int, status: ClinicalStatus) -> ClinicalEntry:
    """Mark an entry ended (no longer taken / resolved) or entered in error; it is never deleted."""
    entry = session.get(ClinicalEntry, entry_id)
    if entry is None:
        raise NotFound("項目が見つかりません")
    if status == ClinicalStatus.active:
        raise Invalid("状態が正しくありません", field="status")
    person = _person(session, entry.person_id)
    history.record(
        session=session,
        actor=actor,
        entity="clinical",
        entity_id=entry.id,
        action="update",
        changes=[(f"{entry.kind}.status", entry.status, status.value)],
        person_id=person.id,
        household_id=person.household_id,
    )
    entry.status = status
    entry.updated_at = utcnow()
    session.add(entry)
    session.commit()
    return entry


def confirm_entry(*, session: Session, actor: Actor, entry_id: int) -> ClinicalEntry:
    """A doctor confirms an entry (e.g. one a resident reported): it becomes doctor-confirmed, dated today."""
    entry = session.get(ClinicalEntry, entry_id)
    if entry is None:
        raise NotFound("項目が見つかりません")
    person = _person(session, entry.person_id)
    history.record(
        session=session,
        actor=actor,
        entity="clinical",
        entity_id=entry.id,
        action="update",
        changes=[
            (
                f"{entry.kind}.source",
                f"{entry.source.value}:{entry.source_detail}",
                f"{actor.source.value}:{actor.name}",
            )
        ],
        person_id=person.id,
        household_id=person.household_id,
    )
    entry.source, entry.source_detail = actor.source, actor.name
    entry.last_confirmed_on = today_jst()
    entry.updated_at = utcnow()
    session.add(entry)
    session.commit()
    return entry


def list_contacts(*, session: Session, person_id: int) -> list[EmergencyContact]:
    """Emergency contacts in the order they should be called."""
    stmt = select(EmergencyContact).where(EmergencyContact.person_id == person_id)
    return list(session.exec(stmt.order_by(*_CONTACT_ORDER)))


_CONTACT_ROWS = (
    select(*EmergencyContact.__table__.c)
    .where(EmergencyContact.person_id == bindparam("person_id"))
    .order_by(*_CONTACT_ORDER)
)


def contact_rows(*, session: Session, person_id: int) -> list[Row]:
    """The emergency contacts as plain rows (decrypted), in ``list_contacts``' order."""
    return session.connection().execute(_CONTACT_ROWS, {"person_id": person_id}).all()


def add_contact(
    *, session: Session, actor: Actor, person_id: int, data: EmergencyContactCreate, commit: bool = True
) -> EmergencyContact:
    """Add an emergency contact after the existing ones."""
    person = _person(session, person_id)
    position = session.exec(select(func.count()).where(EmergencyContact.person_id == person_id)).one()
    contact = EmergencyContact(**data.model_dump(), person_id=person_id, position=position)
    session.add(contact)
    session.flush()
    history.record(
        session=session,
        actor=actor,
        entity="contact",
        entity_id=contact.id,
        action="create",
        changes=[("contact", None, f"{contact.name} ({contact.relation}) {contact.phone}")],
        person_id=person_id,
        household_id=person.household_id,
    )
    if commit:
        session.commit()
        session.refresh(contact)
    return contact


def remove_contact(*, session: Session, actor: Actor, contact_id: int) -> int:
    """Remove an emergency contact (the history keeps what it was); returns the person's id."""
    contact = session.get(EmergencyContact, contact_id)
    if contact is None:
        raise NotFound("連絡先が見つかりません")
    person = _person(session, contact.person_id)
    history.record(
        session=session,
        actor=actor,
        entity="contact",
        entity_id=contact.id,
        action="remove",
        changes=[("contact", f"{contact.name} ({contact.relation}) {contact.phone}", None)],
        person_id=person.id,
        household_id=person.household_id,
    )
    session.delete(contact)
    session.commit()
    return person.id


def list_consents(*, session: Session, person_id: int) -> list[Consent]:
    """Consents of a person, newest first."""
    return list(session.exec(select(Consent).where(Consent.person_id == person_id).order_by(Consent.id.desc())))


def current_consent(*, session: Session, person_id: int) -> Consent | None:
    """The consent in force, if any (the newest not withdrawn)."""
    return session.exec(select(Consent).where(*_in_force(person_id)).order_by(Consent.id.desc()).limit(1)).first()


_IN_FORCE = select(exists().where(*_in_force(bindparam("person_id"))))


def consent_in_force(*, session: Session, person_id: int) -> bool:
    """Whether ``current_consent`` would find one, without loading it."""
    return session.connection().execute(_IN_FORCE, {"person_id": person_id}).scalar_one()


def record_consent(
    *, session: Session, actor: Actor, person_id: int, data: ConsentBase, commit: bool = True
) -> Consent:
    """Record consent to emergency sharing (at registration or again after a withdrawal)."""
    person = _person(session, person_id)
    if current_consent(session=session, person_id=person_id):
        raise Invalid("同意は既に記録されています")
    if data.consented_on > today_jst():
        raise Invalid("同意日に未来の日付は指定できません", field="consented_on")
    consent = Consent(**data.model_dump(), person_id=person_id, recorded_by=actor.name)
    session.add(consent)
    session.flush()
    history.record(
        session=session,
        actor=actor,
        entity="consent",
        entity_id=consent.id,
        action="create",
        changes=[
            (
                "consent",
                None,
                f"{data.consented_on.isoformat()} {LABELS['consent_method'].get(data.method, data.method)}",
            )
        ],
        person_id=person_id,
        household_id=person.household_id,
    )
    if commit:
        session.commit()
        session.refresh(consent)
    return consent


def withdraw_consent(
    *, session: Session, actor: Actor, person_id: int, reason: str, on: date | None = None, commit: bool = True
) -> Consent:
    """Withdraw the consent in force (routes call ``flows.withdraw_consent``, which also revokes the card)."""
    person = _person(session, person_id)
    consent = current_consent(session=session, person_id=person_id)
    if consent is None:
        raise Invalid("撤回できる同意がありません")
    consent.withdrawn_on = on or today_jst()
    consent.withdrawn_by = actor.name
    consent.withdrawal_reason = reason[:400]
    history.record(
        session=session,
        actor=actor,
        entity="consent",
        entity_id=consent.id,
        action="update",
        changes=[("consent.withdrawn_on", None, consent.withdrawn_on.isoformat())],
        person_id=person_id,
        household_id=person.household_id,
    )
    session.add(consent)
    if commit:
        session.commit()
    return consent
