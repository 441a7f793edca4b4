"""What the field app calls: scans recorded with the device, offline records, destination, hospitals, card numbers."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cards import service as cards
from app.directory.models import Institution
from app.scans.models import OfflineAccess, Transport
from tests.ems.helpers import FIRE_DEPARTMENT, enrolled_device
from tests.factories import FACTORY_ACTOR, TEST_PASSWORD

DEVICE_HEADER = "X-Lifeline-Device"


@pytest.fixture
def crew(client, db, make):
    """``crew(name)`` → headers of a new paramedic signed in on a new enrolled device."""

    def _crew(name: str = "加須1号救急車 端末") -> dict[str, str]:
        device, token = enrolled_device(db, name)
        paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
        signed = client.post(
            "/api/v1/auth/token",
            data={"username": paramedic.username, "password": TEST_PASSWORD},
            headers={DEVICE_HEADER: token},
        )
        return {"Authorization": f"Bearer {signed.json()['access_token']}", DEVICE_HEADER: token}

    return _crew


@pytest.fixture
def card(personas, make, db):
    make.consent(personas.patient)
    make.entry(personas.patient, text="ワルファリン錠1mg", is_anticoagulant=True)
    return cards.issue(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id)


def _last(db, action: str) -> AuditEvent:
    return db.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())).first()


def _hospital(db) -> Institution:
    return db.exec(select(Institution).where(Institution.kind == "hospital").order_by(Institution.id)).first()


def test_scan_records_the_device_name(client, crew, card, db):
    body = client.post(
        "/api/v1/scans", json={"qr": card.qr_text, "incident": "R8-001"}, headers=crew("加須3号救急車")
    ).json()
    assert body["status"] == "genuine" and body["summary"]["medications"][0]["is_anticoagulant"]
    event = _last(db, "scan.view")
    assert event.id == body["audit_id"] and event.device == "加須3号救急車" and event.organisation == FIRE_DEPARTMENT


def test_card_number_lookup_shows_the_summary_and_is_audited(client, crew, card, db):
    headers = crew()
    typed = card.card_number.lower().replace("-", " ")
    body = client.post("/api/v1/scans/card-number", json={"card_number": typed, "incident": ""}, headers=headers).json()
    assert body["status"] == "genuine" and body["card_number"] == card.card_number and body["summary"]["name"]
    assert _last(db, "scan.view").fields == "emergency_summary;card_number"
    missing = client.post(
        "/api/v1/scans/card-number", json={"card_number": "0000-0000-0000-0000-01"}, headers=headers
    ).json()
    assert missing["status"] == "not_found" and missing["summary"] is None
    assert _last(db, "scan.verify").outcome == "not_found"


def test_card_number_of_a_replaced_card_says_revoked(client, crew, card, db, personas):
    from app.cards.models import RevokeReason

    cards.reissue(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id, reason=RevokeReason.lost)
    body = client.post("/api/v1/scans/card-number", json={"card_number": card.card_number}, headers=crew()).json()
    assert body["status"] == "revoked" and body["newer_card_exists"] and body["summary"] is None


def _offline(card, **overrides) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "card_id": card.card_id,
        "serial": card.serial,
        "scanned_at": "2026-11-24T03:12:45.123Z",
        "incident": "R8-002",
        "reason": "",
        **overrides,
    }


def test_offline_record_is_idempotent(client, crew, card, db, personas):
    headers = crew("加須4号救急車")
    record = _offline(card)
    first = client.post("/api/v1/scans/offline", json=record, headers=headers)
    assert first.status_code == 201 and first.json()["already_recorded"] is False
    second = client.post("/api/v1/scans/offline", json=record, headers=headers)
    assert second.status_code == 200 and second.json() == {**first.json(), "already_recorded": True}
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "scan.offline")).all()
    assert len(events) == 1
    event = events[0]
    assert event.id == first.json()["audit_id"] and event.outcome == "ok" and event.person_id == personas.patient.id
    assert "scanned_at=2026-11-24T03:12:45.123000+00:00" in event.fields and event.device == "加須4号救急車"
    assert event.incident == "R8-002"
    assert db.exec(select(OfflineAccess)).one().client_id == record["client_id"]


def test_offline_record_of_an_unknown_card_is_still_kept(client, crew, db):
    class Unknown:
        card_id, serial = "0123456789abcdef", 1

    response = client.post("/api/v1/scans/offline", json=_offline(Unknown), headers=crew())
    assert response.status_code == 201
    event = _last(db, "scan.offline")
    assert event.person_id is None and "0123456789abcdef/1" in event.fields


@pytest.mark.parametrize(
    "bad",
    [
        {"client_id": "not-a-uuid"},
        {"card_id": "XYZ"},
        {"card_id": "0123456789ABCDEF"},
        {"serial": 70000},
        {"scanned_at": "yesterday"},
        {"incident": "9" * 61},
    ],
)
def test_offline_record_validation(client, crew, card, bad):
    response = client.post("/api/v1/scans/offline", json=_offline(card, **bad), headers=crew())
    assert response.status_code == 422 and response.json()["detail"][0]["msg"]


def test_offline_record_needs_a_crew_on_a_device(client, card, login, personas):
    assert client.post("/api/v1/scans/offline", json=_offline(card)).status_code == 401
    assert login(personas.staff).post("/api/v1/scans/offline", json=_offline(card)).status_code == 403


def test_destination_only_for_own_scan(client, crew, card, db, personas):
    mine, theirs = crew("加須5号救急車"), crew("加須6号救急車")
    scan = client.post("/api/v1/scans", json={"qr": card.qr_text, "incident": "R8-003"}, headers=mine).json()
    hospital = _hospital(db)
    chosen = client.post(
        f"/api/v1/scans/{scan['audit_id']}/destination", json={"institution_id": hospital.id}, headers=mine
    )
    assert chosen.status_code == 201
    assert chosen.json()["institution_name"] == hospital.name and chosen.json()["incident"] == "R8-003"
    transport = db.exec(select(Transport)).one()
    assert transport.person_id == personas.patient.id and transport.audit_id == scan["audit_id"]
    event = _last(db, "scan.destination")
    assert event.person_id == personas.patient.id and event.purpose == hospital.name and event.device == "加須5号救急車"
    other = client.post(
        f"/api/v1/scans/{scan['audit_id']}/destination", json={"institution_id": hospital.id}, headers=theirs
    )
    assert other.status_code == 403
    assert (
        client.post("/api/v1/scans/999999/destination", json={"institution_id": hospital.id}, headers=mine).status_code
        == 404
    )


def test_destination_must_be_a_hospital_of_the_region(client, crew, card, db):
    headers = crew()
    scan = client.post("/api/v1/scans", json={"qr": card.qr_text}, headers=headers).json()
    clinic = db.exec(select(Institution).where(Institution.kind != "hospital")).first()
    refused = client.post(
        f"/api/v1/scans/{scan['audit_id']}/destination", json={"institution_id": clinic.id}, headers=headers
    )
    assert refused.status_code == 422 and "病院" in refused.json()["detail"]
    assert (
        client.post(
            f"/api/v1/scans/{scan['audit_id']}/destination", json={"institution_id": 999999}, headers=headers
        ).status_code
        == 404
    )


def test_destination_not_for_a_refused_scan(client, crew, db):
    headers = crew()
    scan = client.post("/api/v1/scans", json={"qr": "HTTPS://X/C/1"}, headers=headers).json()
    response = client.post(
        f"/api/v1/scans/{scan['audit_id']}/destination", json={"institution_id": _hospital(db).id}, headers=headers
    )
    assert response.status_code == 404


def test_hospitals_of_the_region(login, personas):
    hospitals = login(personas.paramedic).get("/api/v1/institutions", params={"kind": "hospital"}).json()
    names = [h["name"] for h in hospitals]
    assert "済生会加須病院" in names and all(h["kind"] == "hospital" for h in hospitals)
    assert login(personas.paramedic).get("/api/v1/institutions", params={"kind": "nonsense"}).status_code == 422


def test_public_card_page_links_to_the_app(client, card):
    from urllib.parse import unquote

    page = client.get(card.qr_text.split("127.0.0.1:8000", 1)[-1])
    link = page.text.split('class="button primary wide ems-open" href="', 1)[1].split('"', 1)[0]
    assert link.startswith("/ems/#qr=")
    assert unquote(link.removeprefix("/ems/#qr=")) == "http://testserver/C/" + card.qr_text.rsplit("/", 1)[1]
    assert "救急隊員：救急アプリで開く" in page.text
