"""Verify a scanned card and assemble the emergency summary."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.cards import service as cards
from app.cards.credential import Status, VerificationResult, verify
from app.cards.models import Card, CardStatus
from app.core.clock import today_jst
from app.core.errors import Forbidden, Invalid, NotFound
from app.core.labels import label
from app.core.models import Source
from app.core.text import strip_control
from app.core.wareki import age_on, format_wareki
from app.directory import service as directory
from app.directory.models import Institution, InstitutionKind, Practitioner
from app.households.models import Household
from app.persons import dataset
from app.persons.models import ClinicalKind, Person
from app.scans.models import OfflineAccess, Transport
from app.scans.schemas import EmergencySummary, OfflineScan, SummaryContact, SummaryDoctor, SummaryEntry

# Shown to the crew when the signature is good but the server has no such card (e.g. a
# database restored from an older backup): treat like a revoked card, ask for the fridge sheet.
UNREGISTERED = "このカードは登録が見つかりません（冷蔵庫の情報シートを確認してください）"


NUMBER_NOT_FOUND = "このカード番号は見つかりません（番号を確かめるか、冷蔵庫の情報シートを確認してください）"
_CARD_NUMBER = re.compile(r"^([0-9A-F]{16})([0-9]{1,5})$")
# How much of text too long to be a card the audit record keeps: enough to see what was scanned.
UNREADABLE_EXCERPT = 200


@dataclass(frozen=True)
class Verified:
    result: VerificationResult
    card: Card | None


def card_by_number(*, session: Session, card_number: str) -> Card | None:
    """The card whose printed number was typed (``374A-DF8F-AFC5-6999-01``; spaces, hyphens, case ignored)."""
    # Full-width digits and dashes (a Japanese keyboard) are folded; the long vowel mark passes for a dash.
    text = re.sub(r"[\s\-\u2010-\u2015\u30fc\uff0d]", "", unicodedata.normalize("NFKC", card_number)).upper()
    match = _CARD_NUMBER.match(text)
    if match is None or int(match.group(2)) > 0xFFFF:
        return None
    return cards.find(session=session, card_id=bytes.fromhex(match.group(1)), serial=int(match.group(2)))


def unreadable_fields(*, entry: str, text: str) -> str:
    """The audit record's ``fields`` for text too long to be a card: its length and its first characters."""
    return f"{entry};too_large;length={len(text)};text={strip_control(text[:UNREADABLE_EXCERPT])}"


def check(*, session: Session, qr: str) -> Verified:
    """Verify the credential against our keys and the live revocations of its card, then find the card."""
    revocations = cards.revocations(session=session)
    result = verify(qr, keys=cards.keystore().verification_keys(), revocations=revocations, now=int(time.time()))
    card = None
    if result.status == Status.GENUINE and result.claims is not None:
        card = revocations.card(card_id=result.claims.card_id, serial=result.claims.serial)
    return Verified(result=result, card=card)


def _entry(e) -> SummaryEntry:
    return SummaryEntry(
        text=e.text,
        category=e.category,
        category_label=label("category", e.category),
        code_system=e.code_system,
        code=e.code,
        is_anticoagulant=e.is_anticoagulant,
        is_insulin=e.is_insulin,
        note=e.note,
        source=Source(e.source).value,
        source_label=label("source", e.source),
        source_detail=e.source_detail,
        confirmed_on=e.last_confirmed_on,
        clinically_confirmed=Source(e.source) in (Source.doctor, Source.network),
    )


# Table (Core) statements built once. The summary is read on every scan; through the ORM its
# reads cost about twice as much (benchmarks/scale.py), and nothing here is written back. Entries,
# contacts and consent come from app.persons.dataset, which decides what counts.
_H, _PR, _IN = Household.__table__, Practitioner.__table__, Institution.__table__
_HOUSEHOLD = select(
    _H.c.prefecture,
    _H.c.municipality,
    _H.c.address_line,
    _H.c.building,
    _H.c.phone,
    _H.c.welfare_commissioner,
    _H.c.welfare_commissioner_phone,
).where(_H.c.id == bindparam("household_id"))
_DOCTORS = (
    select(
        _PR.c.id,
        _PR.c.family_name,
        _PR.c.given_name,
        _PR.c.specialty,
        _PR.c.phone,
        _IN.c.name.label("institution"),
        _IN.c.phone.label("institution_phone"),
    )
    .join_from(_PR, _IN, _PR.c.institution_id == _IN.c.id, isouter=True)
    .where(_PR.c.id.in_(bindparam("ids", expanding=True)))
)


def _doctors(connection, person: Person) -> list[SummaryDoctor]:
    ids = {"family": person.family_doctor_id, "second": person.second_doctor_id}
    wanted = [pid for pid in ids.values() if pid]
    rows = {row.id: row for row in connection.execute(_DOCTORS, {"ids": wanted})} if wanted else {}
    return [
        SummaryDoctor(
            role=role,
            name=f"{d.family_name} {d.given_name}".strip(),
            specialty=d.specialty,
            institution=d.institution or "",
            phone=d.phone or d.institution_phone or "",
        )
        for role, pid in ids.items()
        if (d := rows.get(pid)) is not None
    ]


def summarize(*, session: Session, person: Person) -> EmergencySummary:
    """Everything a crew needs, in the order they need it (DESIGN.md §3)."""
    connection = session.connection()
    household = connection.execute(_HOUSEHOLD, {"household_id": person.household_id}).one()
    entries = dataset.entry_rows(session=session, person_id=person.id)
    by_kind = {kind: [_entry(e) for e in entries if e.kind == kind] for kind in ClinicalKind}
    # Insulin and anticoagulants first: they change what the crew does next.
    by_kind[ClinicalKind.medication].sort(key=lambda e: not (e.is_anticoagulant or e.is_insulin))
    blood = label("blood", person.blood_abo) + (
        "" if person.blood_rh == "unknown" else f" Rh{label('blood', person.blood_rh)}"
    )
    return EmergencySummary(
        person_id=person.id,
        name=person.full_name,
        kana=person.full_kana,
        birth_date=person.birth_date,
        birth_date_wareki=format_wareki(person.birth_date),
        age=age_on(person.birth_date, today_jst()),
        sex=person.sex.value,
        sex_label=label("sex", person.sex),
        dnar_status=person.dnar_status.value,
        dnar_location=person.dnar_location,
        acp_notes=person.acp_notes,
        allergies=by_kind[ClinicalKind.allergy],
        medications=by_kind[ClinicalKind.medication],
        conditions=by_kind[ClinicalKind.condition],
        doctors=_doctors(connection, person),
        contacts=[
            SummaryContact.model_validate(row, from_attributes=True)
            for row in dataset.contact_rows(session=session, person_id=person.id)
        ],
        blood_type=blood,
        usual_state=person.usual_state,
        infection_notes=person.infection_notes,
        insurance_kind=person.insurance_kind,
        insurer_number=person.insurer_number,
        insurance_symbol=person.insurance_symbol,
        insurance_number=person.insurance_number,
        insurance_branch=person.insurance_branch,
        address=f"{household.prefecture}{household.municipality}{household.address_line} {household.building}".strip(),
        phone=person.phone or household.phone,
        welfare_commissioner=household.welfare_commissioner,
        welfare_commissioner_phone=household.welfare_commissioner_phone,
        last_confirmed_on=person.last_confirmed_on,
        last_confirmed_source=person.last_confirmed_source.value if person.last_confirmed_source else None,
        last_confirmed_by=person.last_confirmed_by,
        consent_in_force=dataset.consent_in_force(session=session, person_id=person.id),
    )


def offline_receipt(*, session: Session, client_id: str) -> OfflineAccess | None:
    """The offline record already received under ``client_id``, if any."""
    return session.exec(select(OfflineAccess).where(OfflineAccess.client_id == client_id)).first()


@dataclass(frozen=True)
class OfflineCard:
    """A card scanned offline as the server knows it now."""

    person: Person | None
    outcome: str  # ok; revoked (cancelled or replaced); unregistered (no such card issued here)
    revoked_at: datetime | None = None


def offline_card(*, session: Session, data: OfflineScan) -> OfflineCard:
    """The holder and the outcome to record: a revocation the device had not learned of yet counts.

    The device verified the card against the revocation list it last fetched, and its clock is not
    trusted: a card revoked by now, before or after ``scanned_at``, is recorded as revoked.
    """
    card = cards.find(session=session, card_id=bytes.fromhex(data.card_id), serial=data.serial)
    if card is None:
        return OfflineCard(person=None, outcome="unregistered")
    person = session.get(Person, card.person_id)
    if card.status != CardStatus.active:
        return OfflineCard(person=person, outcome=Status.REVOKED.value, revoked_at=card.revoked_at)
    return OfflineCard(person=person, outcome="ok")


def offline_fields(*, data: OfflineScan, found: OfflineCard) -> str:
    """The audit record's ``fields`` for an offline scan: the credential, the device's time, any revocation."""
    fields = f"credential {data.card_id}/{data.serial}; offline; scanned_at={data.scanned_at.isoformat()}"
    if found.revoked_at is not None:
        fields += f"; revoked_at={found.revoked_at.isoformat()}"
    return fields


def store_offline(
    *, session: Session, data: OfflineScan, device_id: int, user_id: int, audit: Callable[..., AuditEvent]
) -> tuple[OfflineAccess, bool]:
    """Keep the offline record with its audit record, both or neither; (the stored row, False) for a resend.

    ``audit(engine=…)`` appends the audit record on this session's connection, so it commits or
    rolls back with the row: a row that cannot be stored leaves no record, and of two resends racing
    each other the later one finds the ``client_id`` taken and rolls back its record too.
    """
    try:
        # The audit record first: its append takes the chain's lock (the head row; on SQLite the write
        # lock) before this transaction has written anything, in the order every appender takes them.
        # The lock is held to the commit, so a racing resend waits and then sees this row.
        event = audit(engine=session.connection())
        row = OfflineAccess(
            client_id=str(data.client_id),
            audit_id=event.id,
            device_id=device_id,
            user_id=user_id,
            card_id=data.card_id,
            serial=data.serial,
            scanned_at=data.scanned_at,
        )
        session.add(row)
        session.commit()
    except IntegrityError:
        session.rollback()
        stored = offline_receipt(session=session, client_id=str(data.client_id))
        if stored is None:
            raise  # not a resend: the row itself could not be stored
        return stored, False
    except Exception:
        session.rollback()
        raise
    session.refresh(row)
    return row, True


def own_scan(*, session: Session, audit_id: int, user_id: int) -> AuditEvent:
    """The user's own successful scan (a ``scan.view`` audit record), or NotFound / Forbidden."""
    event = session.get(AuditEvent, audit_id)
    if event is None or event.action != "scan.view" or event.person_id is None:
        raise NotFound("この読み取りの記録が見つかりません")
    if event.actor_user_id != user_id:
        raise Forbidden("搬送先は、自分が読み取った記録にだけ登録できます")
    return event


def choose_destination(
    *, session: Session, event: AuditEvent, institution_id: int, device_id: int | None, user_id: int
) -> Transport:
    """Record the hospital chosen for the scanned person (a hospital of the region, still active)."""
    institution = directory.get_institution(session=session, institution_id=institution_id)
    if institution.kind != InstitutionKind.hospital or not institution.active:
        raise Invalid("搬送先は地域の病院から選んでください", field="institution_id")
    transport = Transport(
        audit_id=event.id,
        person_id=event.person_id,
        institution_id=institution.id,
        incident=event.incident,
        device_id=device_id,
        user_id=user_id,
    )
    session.add(transport)
    session.commit()
    session.refresh(transport)
    return transport
