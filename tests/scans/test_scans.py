"""POST /api/v1/scans: verify first, audit always, summary only for a genuine card."""

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cards import service as cards
from app.cards.models import RevokeReason
from app.persons import dataset
from tests.ems.helpers import FIRE_DEPARTMENT
from tests.factories import FACTORY_ACTOR
from tests.scans.helpers import last_event


@pytest.fixture
def scenario(make, personas, db):
    person = personas.patient
    make.consent(person)
    make.entry(person, kind="allergy", text="ペニシリン", category="drug")
    make.entry(person, text="インスリン グラルギン", is_insulin=True)
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=person.id)
    return person, card


def _last_audit(db):
    return db.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()


def test_genuine_card_shows_the_summary_and_is_audited(scenario, login, personas, db):
    person, card = scenario
    r = login(personas.paramedic).post(
        "/api/v1/scans", json={"qr": card.qr_text, "incident": "R8-12345", "reason": "意識障害"}
    )
    assert r.status_code == 200
    body = r.json()
    assert (
        body["status"] == "genuine"
        and body["message"] == "本物のカードです"
        and body["card_number"] == card.card_number
    )
    summary = body["summary"]
    assert summary["name"] == person.full_name and summary["birth_date_wareki"] == "昭和15年3月2日"
    assert summary["allergies"][0]["text"] == "ペニシリン"
    assert summary["medications"][0]["is_insulin"] and summary["medications"][0]["text"].startswith("インスリン")
    assert summary["doctors"][0]["role"] == "family"
    event = _last_audit(db)
    assert event.id == body["audit_id"] and event.action == "scan.view" and event.person_id == person.id
    assert (
        event.incident == "R8-12345"
        and event.purpose == "意識障害"
        and event.actor_role == "paramedic"
        and not event.emergency
    )


def test_scan_records_the_device_name(client, crew, card, db):
    body = client.post(
        "/api/v1/scans", json={"qr": card.qr_text, "incident": "R8-001"}, headers=crew("加須3号救急車")
    ).json()
    assert body["status"] == "genuine" and body["summary"]["medications"][0]["is_anticoagulant"]
    event = last_event(db, "scan.view")
    assert event.id == body["audit_id"] and event.device == "加須3号救急車" and event.organisation == FIRE_DEPARTMENT


def test_lowercase_url_from_a_phone_camera_verifies(scenario, login, personas):
    _, card = scenario
    r = login(personas.paramedic).post("/api/v1/scans", json={"qr": card.qr_text.lower()})
    assert r.json()["status"] == "genuine"


@pytest.mark.parametrize(
    "mutate,status",
    [
        (lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"), "forged"),
        (lambda t: t[:-20], "malformed"),
        (lambda t: t + "?x=1", "malformed"),
        (lambda t: "HTTPS://EVIL.EXAMPLE/X/" + t.rsplit("/", 1)[1], "malformed"),
        (lambda t: "", "malformed"),
        (lambda t: "\x00\xff" * 100, "malformed"),
    ],
)
def test_bad_cards_get_a_status_and_no_data(scenario, login, personas, db, mutate, status):
    _, card = scenario
    r = login(personas.paramedic).post("/api/v1/scans", json={"qr": mutate(card.qr_text)})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == status
    assert body["summary"] is None and body["message"]
    assert _last_audit(db).action == "scan.verify" and _last_audit(db).outcome == body["status"]


def test_revoked_card_says_a_newer_card_exists(scenario, login, personas, db):
    person, card = scenario
    cards.reissue(session=db, actor=FACTORY_ACTOR, person_id=person.id, reason=RevokeReason.lost)
    body = login(personas.paramedic).post("/api/v1/scans", json={"qr": card.qr_text}).json()
    assert body["status"] == "revoked" and body["newer_card_exists"] and body["summary"] is None
    assert "新しいカード" in body["message"]


def test_oversized_input_is_a_clear_422_and_recorded_as_unreadable(login, personas, db):
    text = "HTTPS://EXAMPLE/C/" + "9" * 20000
    r = login(personas.paramedic).post("/api/v1/scans", json={"qr": text, "incident": "R8-404", "reason": "意識障害"})
    assert r.status_code == 422
    issue = r.json()["detail"][0]
    assert issue["loc"] == ["body", "qr"] and "10240" in issue["msg"]
    event = _last_audit(db)
    assert (event.action, event.outcome, event.person_id) == ("scan.verify", "malformed", None)
    assert event.fields == f"credential;too_large;length={len(text)};text={text[:200]}"
    assert (event.incident, event.purpose, event.actor_user_id) == ("R8-404", "意識障害", personas.paramedic.id)


def test_qr_text_of_the_longest_accepted_length_is_checked_as_usual(login, personas, db):
    r = login(personas.paramedic).post("/api/v1/scans", json={"qr": "9" * 10_240})
    assert r.status_code == 200 and r.json()["status"] == "malformed"
    assert _last_audit(db).fields == "credential"


def test_the_stored_excerpt_of_oversized_text_has_no_control_characters(login, personas, db):
    r = login(personas.paramedic).post("/api/v1/scans", json={"qr": "\x00\x1b[2J" + "A" * 11_000})
    assert r.status_code == 422
    fields = _last_audit(db).fields
    assert fields.startswith("credential;too_large;length=11005;text=") and not any(c < " " for c in fields)


def test_only_paramedics_scan(scenario, login, personas):
    _, card = scenario
    for who in (personas.staff, personas.doctor, personas.resident, personas.admin):
        assert login(who).post("/api/v1/scans", json={"qr": card.qr_text}).status_code == 403


def test_without_consent_a_reason_is_required_and_the_access_flagged(scenario, login, personas, db):
    person, card = scenario
    # Consent gone but the card somehow still active (e.g. withdrawn before cards existed).
    consent = dataset.current_consent(session=db, person_id=person.id)
    consent.withdrawn_on = consent.consented_on
    db.add(consent)
    db.commit()
    c = login(personas.paramedic)
    refused = c.post("/api/v1/scans", json={"qr": card.qr_text})
    assert refused.status_code == 422 and "理由を入力してください" in refused.text
    ok = c.post("/api/v1/scans", json={"qr": card.qr_text, "reason": "心肺停止、生命の危険"}).json()
    assert ok["status"] == "genuine" and ok["emergency_access"] and ok["summary"]["consent_in_force"] is False
    assert _last_audit(db).emergency


def test_no_audit_no_summary(scenario, login, personas, refuse_audit_inserts):
    _, card = scenario
    c = login(personas.paramedic)
    refuse_audit_inserts()
    r = c.post("/api/v1/scans", json={"qr": card.qr_text})
    assert r.status_code == 503 and "ペニシリン" not in r.text
