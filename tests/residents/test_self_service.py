"""A family keeps the dataset current: provenance, own household only, fresh sheet, lost card, consent, doctor check."""

import pypdfium2 as pdfium
import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cards import service as cards
from app.cards.models import Card, CardStatus
from app.history.models import Change
from app.persons import dataset
from app.persons.models import ClinicalEntry, EmergencyContactCreate
from tests.factories import FACTORY_ACTOR

NEW_MEDICINE = "エドキサバン錠30mg 1日1回"


def _pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    return "".join(page.get_textpage().get_text_range() for page in pdf)


@pytest.fixture
def consented(make, personas, db):
    make.consent(personas.patient)
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id)
    return personas.patient, card


def _add_medicine(client, person_id: int, text: str = NEW_MEDICINE):
    return client.post(
        f"/me/persons/{person_id}/entries",
        data={"kind": "medication", "text": text, "category": "regular"},
        follow_redirects=False,
    )


def _entry(db, text: str = NEW_MEDICINE) -> ClinicalEntry:
    return next(e for e in db.exec(select(ClinicalEntry)).all() if e.text == text)


def test_household_view_lists_members_and_links_to_who_viewed(personas, login):
    page = login(personas.resident).get("/me/")
    assert page.status_code == 200
    assert personas.patient.full_name in page.text and personas.other_person.full_name not in page.text
    assert 'href="/me/access"' in page.text and f'href="/me/persons/{personas.patient.id}"' in page.text


def test_a_change_is_stored_with_source_resident(personas, login, db):
    client = login(personas.resident)
    assert _add_medicine(client, personas.patient.id).status_code == 303
    entry = _entry(db)
    assert (
        entry.source == "resident" and entry.source_detail == personas.resident.display_name and entry.last_confirmed_on
    )
    change = db.exec(select(Change).where(Change.entity == "clinical", Change.entity_id == entry.id)).one()
    assert change.source == "resident" and change.user_id == personas.resident.id and change.at
    page = client.get(f"/me/persons/{personas.patient.id}")
    assert NEW_MEDICINE in page.text and "ご本人・ご家族が入力" in page.text
    # the change request itself is in the audit log, before it was made
    assert db.exec(
        select(AuditEvent).where(
            AuditEvent.action == "person.add_entry", AuditEvent.actor_user_id == personas.resident.id
        )
    ).first()


def test_wishes_doctors_and_contacts(personas, login, db, make):
    specialist = make.practitioner(specialty="糖尿病内科")
    client = login(personas.resident)
    pid = personas.patient.id
    r = client.post(
        f"/me/persons/{pid}/wishes",
        data={"dnar_status": "exists", "dnar_location": "冷蔵庫のキット", "acp_notes": "延命は望まない"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    options = client.get("/me/doctors", params={"doctor_q": "糖尿"})
    assert f'value="{specialist.id}"' in options.text
    assert (
        client.post(
            f"/me/persons/{pid}/doctors",
            data={"role": "second", "practitioner_id": str(specialist.id)},
            follow_redirects=False,
        ).status_code
        == 303
    )
    r = client.post(
        f"/me/persons/{pid}/contacts",
        data={"name": "見本 花江", "relation": "長女", "phone": "０９０-００００-０００１"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.refresh(personas.patient)
    assert personas.patient.dnar_status == "exists" and personas.patient.acp_notes == "延命は望まない"
    assert personas.patient.second_doctor_id == specialist.id and personas.patient.last_confirmed_source == "resident"
    contact = dataset.list_contacts(session=db, person_id=pid)[0]
    assert contact.phone == "090-0000-0001"
    assert client.post(f"/me/contacts/{contact.id}/remove", follow_redirects=False).status_code == 303
    assert dataset.list_contacts(session=db, person_id=pid) == []
    # bad input is a clear 422, never a 500
    assert client.post(f"/me/persons/{pid}/wishes", data={"dnar_status": "maybe"}).status_code == 422
    assert (
        client.post(f"/me/persons/{pid}/doctors", data={"role": "family", "practitioner_id": "99999999"}).status_code
        == 422
    )
    assert client.post(f"/me/persons/{pid}/entries", data={"kind": "medication", "text": ""}).status_code == 422


def test_a_resident_never_reads_or_changes_another_household(personas, login, db, make):
    other = personas.other_person
    entry = make.entry(other, text="他世帯の薬")
    contact = dataset.add_contact(
        session=db,
        actor=FACTORY_ACTOR,
        person_id=other.id,
        data=EmergencyContactCreate(name="他世帯", relation="子", phone="090-0000-0009"),
    )
    make.consent(other)
    cards.issue(session=db, actor=FACTORY_ACTOR, person_id=other.id)
    client = login(personas.resident)
    attempts = [
        ("GET", f"/me/persons/{other.id}", None),
        ("GET", f"/me/persons/{other.id}/sheet.pdf", None),
        ("GET", f"/me/persons/{other.id}/card", None),
        ("GET", f"/me/persons/{other.id}/consent", None),
        ("POST", f"/me/persons/{other.id}/entries", {"kind": "medication", "text": "侵入"}),
        ("POST", f"/me/persons/{other.id}/contacts", {"name": "侵入", "phone": "090-0000-0000"}),
        ("POST", f"/me/persons/{other.id}/wishes", {"dnar_status": "none"}),
        ("POST", f"/me/persons/{other.id}/doctors", {"role": "family", "practitioner_id": ""}),
        ("POST", f"/me/entries/{entry.id}/end", {"status": "ended"}),
        ("POST", f"/me/contacts/{contact.id}/remove", None),
        ("POST", f"/me/persons/{other.id}/card/lost", {"confirm": "yes"}),
        ("POST", f"/me/persons/{other.id}/consent/withdraw", {"confirm": "yes"}),
        ("POST", f"/me/persons/{other.id}/consent", {"agree": "yes"}),
    ]
    for method, url, data in attempts:
        r = client.request(method, url, data=data, follow_redirects=False)
        assert r.status_code == 403, f"{method} {url} → {r.status_code}"
        assert "他世帯の薬" not in r.text
    db.refresh(entry)
    db.refresh(other)
    assert entry.status == "active" and other.family_doctor_id is not None
    assert dataset.current_consent(session=db, person_id=other.id) is not None
    assert cards.current(session=db, person_id=other.id).serial == 1
    assert len(dataset.list_contacts(session=db, person_id=other.id)) == 1


def test_fresh_sheet_pdf_shows_the_new_medication(consented, personas, login, db):
    person, _ = consented
    client = login(personas.resident)
    _add_medicine(client, person.id)
    r = client.get(f"/me/persons/{person.id}/sheet.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = _pdf_text(r.content)
    assert NEW_MEDICINE.split()[0] in text and person.family_name in text
    events = db.exec(
        select(AuditEvent).where(AuditEvent.action == "print.sheet", AuditEvent.person_id == person.id)
    ).all()
    assert len(events) == 1 and events[0].actor_user_id == personas.resident.id


def test_lost_card_is_revoked_at_once(consented, personas, login, db):
    person, card = consented
    client = login(personas.resident)
    assert client.post(f"/me/persons/{person.id}/card/lost", data={}).status_code == 422  # the confirmation is required
    r = client.post(f"/me/persons/{person.id}/card/lost", data={"confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    db.refresh(card)
    assert card.status == CardStatus.superseded and card.revoke_reason == "lost"
    new = cards.current(session=db, person_id=person.id)
    assert new.serial == 2 and new.printed_at is None  # the city prints and mails it
    assert "郵便でお送りします" in client.get(r.headers["location"]).text
    scan = login(personas.paramedic).post("/api/v1/scans", json={"qr": card.qr_text}).json()
    assert scan["status"] == "revoked" and scan["summary"] is None


def test_withdrawing_consent_revokes_the_card_and_consenting_again_works(consented, personas, login, db):
    person, card = consented
    client = login(personas.resident)
    page = client.get(f"/me/persons/{person.id}/consent")
    assert "カードは、すぐに使えなくなります" in page.text
    assert client.post(f"/me/persons/{person.id}/consent/withdraw", data={}).status_code == 422
    assert dataset.current_consent(session=db, person_id=person.id) is not None
    r = client.post(f"/me/persons/{person.id}/consent/withdraw", data={"confirm": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    db.refresh(card)
    assert card.status == CardStatus.revoked and card.revoke_reason == "consent_withdrawn"
    scan = login(personas.paramedic).post("/api/v1/scans", json={"qr": card.qr_text}).json()
    assert scan["status"] == "revoked" and scan["summary"] is None
    # the data is kept (documented policy); consent again online
    assert dataset.list_entries(session=db, person_id=person.id)
    r = client.post(f"/me/persons/{person.id}/consent", data={"agree": "yes"}, follow_redirects=False)
    assert r.status_code == 303
    current = dataset.current_consent(session=db, person_id=person.id)
    assert current.method == "online" and current.recorded_by == personas.resident.display_name


def test_family_doctor_confirms_a_resident_change(consented, personas, login, db):
    person, card = consented
    _add_medicine(login(personas.resident), person.id)
    entry = _entry(db)
    paramedic = login(personas.paramedic)
    before = next(
        m
        for m in paramedic.post("/api/v1/scans", json={"qr": card.qr_text}).json()["summary"]["medications"]
        if m["text"] == NEW_MEDICINE
    )
    assert before["source"] == "resident" and not before["clinically_confirmed"]
    assert NEW_MEDICINE not in login(personas.other_doctor).get("/doctor/changes").text
    assert login(personas.other_doctor).post(f"/doctor/entries/{entry.id}/confirm").status_code == 403
    doctor = login(personas.doctor)
    assert NEW_MEDICINE in doctor.get("/doctor/changes").text
    assert doctor.post(f"/doctor/entries/{entry.id}/confirm", follow_redirects=False).status_code == 303
    db.refresh(entry)
    assert entry.source == "doctor" and entry.source_detail == personas.doctor.display_name
    assert NEW_MEDICINE not in doctor.get("/doctor/changes").text
    after = next(
        m
        for m in paramedic.post("/api/v1/scans", json={"qr": card.qr_text}).json()["summary"]["medications"]
        if m["text"] == NEW_MEDICINE
    )
    assert after["source"] == "doctor" and after["clinically_confirmed"]
    assert "医師が確認" in login(personas.resident).get(f"/me/persons/{person.id}").text


def test_reprint_queue_lists_printed_field_changes_only(consented, personas, login, db, make):
    person, card = consented
    cards.mark_printed(session=db, card=card)
    db.commit()
    client = login(personas.resident)
    _add_medicine(client, person.id)
    staff = login(personas.staff)
    assert person.full_name not in staff.get("/staff/reprint").text  # medicines are not on the card
    new_doctor = make.practitioner()
    client.post(f"/me/persons/{person.id}/doctors", data={"role": "family", "practitioner_id": str(new_doctor.id)})
    page = staff.get("/staff/reprint")
    assert person.full_name in page.text and "かかりつけ医" in page.text and "本人・家族が変更" in page.text
    cards.mark_printed(session=db, card=db.get(Card, card.id))
    db.commit()
    assert person.full_name not in staff.get("/staff/reprint").text
