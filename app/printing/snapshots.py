"""What gets printed, loaded from the database as plain snapshots (``card_printing.data``) in a handful of queries.

Printed text is always Japanese (the paper goes to the household, whatever the clerk's UI
language), so labels come straight from ``app.core.labels.LABELS``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlmodel import Session, select

from app.cards import service as cards
from app.cards.models import Card, CardStatus
from app.core.config import get_settings
from app.core.labels import LABELS
from app.directory.models import Institution, Practitioner
from app.households.models import Household
from app.persons.models import (
    CATEGORIES,
    ClinicalEntry,
    ClinicalKind,
    ClinicalStatus,
    Consent,
    EmergencyContact,
    Person,
    PersonStatus,
)
from card_printing import fonts, qr
from card_printing.data import CardInfo, Contact, Doctor, Entry, Home, HouseholdData, Issuer, PersonData
from card_printing.glyphs import GlyphChecker
from card_printing.qr import QrSymbol

log = logging.getLogger(__name__)


class IssuerSettings(BaseSettings):
    """Who the paper says it comes from (``LIFELINE_PRINT_OFFICE``, ``LIFELINE_PRINT_OFFICE_PHONE``)."""

    model_config = SettingsConfigDict(env_prefix="LIFELINE_PRINT_", extra="ignore")
    office: str = "加須市役所"
    office_phone: str = "0480-62-1111"


def issuer_from_settings() -> Issuer:
    """The issuer the settings name, with the public address residents sign in at."""
    settings = IssuerSettings()
    return Issuer(office=settings.office, phone=settings.office_phone, public_url=get_settings().public_url)


def _label(vocabulary: str, value) -> str:
    key = getattr(value, "value", value)
    return LABELS[vocabulary].get(key, str(key or ""))


def _doctor(practitioner: Practitioner | None, institutions: dict[int, Institution]) -> Doctor | None:
    if practitioner is None:
        return None
    institution = institutions.get(practitioner.institution_id)
    return Doctor(
        name=practitioner.full_name,
        specialty=practitioner.specialty,
        institution=institution.name if institution else "",
        phone=practitioner.phone or (institution.phone if institution else ""),
    )


def _entries(rows: list[ClinicalEntry], kind: ClinicalKind) -> tuple[Entry, ...]:
    order = CATEGORIES[kind]
    chosen = sorted(
        (e for e in rows if e.kind == kind),
        key=lambda e: (order.index(e.category) if e.category in order else 99, e.id),
    )
    return tuple(
        Entry(
            category=_label("category", e.category),
            text=e.text or "",
            note=e.note or "",
            anticoagulant=e.is_anticoagulant,
            insulin=e.is_insulin,
        )
        for e in chosen
    )


def _blood(person: Person) -> str:
    abo = getattr(person.blood_abo, "value", person.blood_abo)
    rh = getattr(person.blood_rh, "value", person.blood_rh)
    if abo == "unknown":
        return "不明"
    return f"{abo}型" + ("" if rh == "unknown" else f" Rh{rh}")


def _insurance(person: Person) -> tuple[tuple[str, str], ...]:
    pairs = (
        ("種類", person.insurance_kind),
        ("保険者番号", person.insurer_number),
        ("記号", person.insurance_symbol),
        ("番号", person.insurance_number),
        ("枝番", person.insurance_branch),
    )
    return tuple((label, value) for label, value in pairs if value)


def _home(household: Household) -> Home:
    address = f"{household.prefecture}{household.municipality}{household.address_line}"
    if household.building:
        address += f" {household.building}"
    commissioner = household.welfare_commissioner
    if commissioner and household.welfare_commissioner_phone:
        commissioner += f"（{household.welfare_commissioner_phone}）"
    return Home(
        postal_code=household.postal_code, address=address, phone=household.phone, welfare_commissioner=commissioner
    )


def _stored_symbol(card: Card) -> QrSymbol | None:
    if card.qr_symbol is None:
        return None  # issued before symbols were stored (migration 0012)
    try:
        return qr.from_bytes(card.qr_symbol, text=card.qr_text)
    except ValueError as exc:
        log.warning("card row %s: stored QR symbol refused (%s); encoding it again", card.id, exc)
        return None


def card_info(card: Card | None) -> CardInfo | None:
    """What is printed of a card: its number and its QR symbol, the stored one or, when there is none, encoded now."""
    if card is None:
        return None
    symbol, to_store = _stored_symbol(card), None
    if symbol is None:
        symbol = qr.encode(cards.qr_segments_for(card))
        to_store = qr.to_bytes(symbol, text=card.qr_text)
    return CardInfo(
        row_id=card.id,
        card_id=card.card_id,
        serial=card.serial,
        number=card.card_number,
        symbol=symbol,
        symbol_to_store=to_store,
    )


def load_households(
    *, session: Session, household_ids: Iterable[int], person_ids: Iterable[int] | None = None
) -> list[HouseholdData]:
    """Snapshots of the households (in the order given), optionally only some members, in 7 queries."""
    ids = list(dict.fromkeys(household_ids))
    households = {h.id: h for h in session.exec(select(Household).where(Household.id.in_(ids)))}
    stmt = select(Person).where(Person.household_id.in_(ids))
    if person_ids is not None:
        stmt = stmt.where(Person.id.in_(list(person_ids)))
    people = list(session.exec(stmt.order_by(Person.birth_date, Person.id)))
    pids = [p.id for p in people]
    entries: dict[int, list[ClinicalEntry]] = defaultdict(list)
    for e in session.exec(
        select(ClinicalEntry).where(ClinicalEntry.person_id.in_(pids), ClinicalEntry.status == ClinicalStatus.active)
    ):
        entries[e.person_id].append(e)
    contacts: dict[int, list[EmergencyContact]] = defaultdict(list)
    for c in session.exec(
        select(EmergencyContact)
        .where(EmergencyContact.person_id.in_(pids))
        .order_by(EmergencyContact.position, EmergencyContact.id)
    ):
        contacts[c.person_id].append(c)
    consented = set(
        session.exec(select(Consent.person_id).where(Consent.person_id.in_(pids), Consent.withdrawn_on.is_(None)))
    )
    doctor_ids = {d for p in people for d in (p.family_doctor_id, p.second_doctor_id) if d}
    practitioners, institutions = {}, {}
    for practitioner, institution in session.exec(
        select(Practitioner, Institution).join(Institution, isouter=True).where(Practitioner.id.in_(doctor_ids))
    ):
        practitioners[practitioner.id] = practitioner
        if institution is not None:
            institutions[institution.id] = institution
    active_cards = {
        c.person_id: c
        for c in session.exec(select(Card).where(Card.person_id.in_(pids), Card.status == CardStatus.active))
    }
    homes = {hid: _home(h) for hid, h in households.items()}
    members: dict[int, list[PersonData]] = defaultdict(list)
    for p in people:
        data = _person(p, homes[p.household_id], entries[p.id], contacts[p.id], practitioners, institutions)
        data.card = card_info(active_cards.get(p.id))
        if p.status != PersonStatus.active:
            data.refusal = "転出・死亡の方の情報は印刷しません"
        elif p.id not in consented:
            data.refusal = "同意が記録されていないため印刷できません"
        members[p.household_id].append(data)
    return [
        HouseholdData(id=hid, home=homes[hid], members=members[hid], kit_printed_at=households[hid].kit_printed_at)
        for hid in ids
        if hid in households
    ]


def load_people(*, session: Session, person_ids: Iterable[int]) -> list[PersonData]:
    """Snapshots of single persons (in the order given), with their household's address."""
    pids = list(dict.fromkeys(person_ids))
    household_ids = session.exec(select(Person.household_id).where(Person.id.in_(pids))).all()
    by_id = {
        m.id: m
        for h in load_households(session=session, household_ids=household_ids, person_ids=pids)
        for m in h.members
    }
    return [by_id[pid] for pid in pids if pid in by_id]


def _person(
    p: Person,
    home: Home,
    entries: list[ClinicalEntry],
    contacts: list[EmergencyContact],
    practitioners: dict[int, Practitioner],
    institutions: dict[int, Institution],
) -> PersonData:
    data = PersonData(
        id=p.id,
        household_id=p.household_id,
        name=fonts.clean(p.print_name or p.full_name),
        kana=fonts.clean(p.full_kana),
        birth_date=p.birth_date,
        sex=_label("sex", p.sex),
        blood=_blood(p),
        phone=p.phone,
        dnar=getattr(p.dnar_status, "value", p.dnar_status),
        dnar_location=p.dnar_location or "",
        acp_notes=p.acp_notes or "",
        allergies=_entries(entries, ClinicalKind.allergy),
        medications=_entries(entries, ClinicalKind.medication),
        conditions=_entries(entries, ClinicalKind.condition),
        family_doctor=_doctor(practitioners.get(p.family_doctor_id), institutions),
        second_doctor=_doctor(practitioners.get(p.second_doctor_id), institutions),
        contacts=(),
        usual_state=p.usual_state or "",
        infection_notes=p.infection_notes or "",
        insurance=_insurance(p),
        last_confirmed_on=p.last_confirmed_on,
        last_confirmed_by=p.last_confirmed_by
        + (f"（{_label('source', p.last_confirmed_source)}）" if p.last_confirmed_source else ""),
        home=home,
    )
    problems = GlyphChecker(person_id=p.id, person_name=p.full_name)
    # The registered name is reported even when 印刷用の表記 covers it, so staff see why it exists.
    substitute_ok = bool(p.print_name) and not problems.check("印刷用の表記", p.print_name)
    problems.check("氏名", p.full_name, substitute=data.name if substitute_ok else "")
    problems.check("フリガナ", p.full_kana)
    printed_contacts = []
    for c in contacts:
        name = problems.contact_name(name=c.name, kana=c.kana)
        printed_contacts.append(
            Contact(
                name=name,
                kana=fonts.clean(c.kana),
                relation=fonts.clean(c.relation),
                phone=c.phone,
                phone2=c.phone2,
                note=fonts.clean(c.note),
            )
        )
        for label, text in (("緊急連絡先の続柄", c.relation), ("緊急連絡先のメモ", c.note)):
            problems.check(label, text)
    data.contacts = tuple(printed_contacts)
    for label, text in _printed_texts(data):
        problems.check(label, text)
    data.problems = problems.found
    return data


def _printed_texts(data: PersonData):
    yield "書面の保管場所", data.dnar_location
    yield "ACPの希望", data.acp_notes
    for label, rows in (
        ("アレルギー", data.allergies),
        ("服用中の薬", data.medications),
        ("病気・既往歴", data.conditions),
    ):
        for entry in rows:
            yield label, entry.text
            yield label, entry.note
    for label, doctor in (("かかりつけ医", data.family_doctor), ("二人目の主治医", data.second_doctor)):
        if doctor:
            yield label, f"{doctor.name}{doctor.specialty}{doctor.institution}{doctor.phone}"
    yield "普段の様子", data.usual_state
    yield "感染症", data.infection_notes
    for label, value in data.insurance:
        yield f"保険（{label}）", value
    yield "住所・民生委員", f"{data.home.address}{data.home.welfare_commissioner}"
    yield "確認者", data.last_confirmed_by
