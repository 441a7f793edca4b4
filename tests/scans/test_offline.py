"""POST /api/v1/scans/offline: a scan the field app verified without a network, recorded once when it is back."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from app import bootstrap
from app.audit import anomalies
from app.audit.models import AuditEvent
from app.audit.signing import audit_keys
from app.audit.verify import verify_database
from app.cards import service as cards
from app.cards.models import RevokeReason
from app.core.config import get_settings
from app.core.db import get_session, request_engine
from app.devices.deps import DEVICE_HEADER
from app.main import create_app
from app.scans import service as scans
from app.scans.models import OfflineAccess
from tests.committing_database import engine_for, scratch_database
from tests.ems.helpers import FIRE_DEPARTMENT, enrolled_device
from tests.factories import FACTORY_ACTOR, TEST_PASSWORD, Factories
from tests.scans.helpers import head_seq, last_event


class Unknown:
    """A card the server never issued (its signature checked out on the device)."""

    card_id, serial = "0123456789abcdef", 1


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
    response = client.post("/api/v1/scans/offline", json=_offline(Unknown), headers=crew())
    assert response.status_code == 201
    event = last_event(db, "scan.offline")
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


# --- the device's time must say its time zone ----------------------------------------------------


@pytest.mark.parametrize(
    "when", ["2026-12-08T10:01:00", "2026-12-08", "2026-12-08T10:01", "yesterday", "0001-01-01T00:00:00+09:00"]
)
def test_a_time_without_its_time_zone_is_a_clear_422_and_nothing_is_recorded(client, crew, card, db, when):
    before = head_seq(db)
    response = client.post("/api/v1/scans/offline", json=_offline(card, scanned_at=when), headers=crew())
    assert response.status_code == 422
    issue = response.json()["detail"][0]
    assert issue["loc"] == ["body", "scanned_at"] and "scanned_at" in issue["msg"] and "+09:00" in issue["msg"]
    assert db.exec(select(AuditEvent).where(AuditEvent.seq > before, AuditEvent.action == "scan.offline")).all() == []
    assert db.exec(select(OfflineAccess)).all() == []


def test_the_time_zone_message_is_translated(client, crew, card):
    headers = crew()
    client.cookies.set("lang", "en")
    response = client.post("/api/v1/scans/offline", json=_offline(card, scanned_at="2026-12-08"), headers=headers)
    assert response.status_code == 422 and "time zone" in response.json()["detail"][0]["msg"]


def test_an_offset_time_is_kept_as_the_same_instant(client, crew, card, db):
    record = _offline(card, scanned_at="2026-12-08T10:01:00+09:00")
    assert client.post("/api/v1/scans/offline", json=record, headers=crew()).status_code == 201
    stored = db.exec(select(OfflineAccess)).one().scanned_at
    assert stored.replace(tzinfo=stored.tzinfo or UTC) == datetime(2026, 12, 8, 1, 1, tzinfo=UTC)


# --- the audit record and the offline row are one transaction ------------------------------------


def test_no_offline_row_without_its_audit_record(client, crew, card, db, refuse_audit_inserts):
    headers = crew()
    refuse_audit_inserts()
    response = client.post("/api/v1/scans/offline", json=_offline(card), headers=headers)
    assert response.status_code == 503 and "アクセス記録を書き込めない" in response.json()["detail"]
    assert db.exec(select(OfflineAccess)).all() == []


@pytest.fixture
def committed(tmp_path):
    """The app on a database of its own that really commits, with a paramedic signed in on a device."""
    with scratch_database(tmp_path) as url:
        engine = engine_for(url, tmp_path)
        bootstrap.prepare_database(engine)
        app = create_app(run_migrations=False)

        def _session():
            with Session(engine) as session:
                yield session

        app.dependency_overrides[get_session] = _session
        app.dependency_overrides[request_engine] = lambda: engine
        with Session(engine) as session:
            paramedic = Factories(session).user("paramedic", organisation=FIRE_DEPARTMENT)
            _, token = enrolled_device(session, "加須7号救急車")
            username = paramedic.username
        with TestClient(app, base_url="http://testserver") as client:
            signed = client.post(
                "/api/v1/auth/token",
                data={"username": username, "password": TEST_PASSWORD},
                headers={DEVICE_HEADER: token},
            )
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}", DEVICE_HEADER: token}
        try:
            yield app, engine, headers
        finally:
            engine.dispose()


def _refuse_offline_inserts(engine) -> None:
    """From now on storing an offline row fails, as on a full disk (a trigger)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_offline() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'offline refused'; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_offline BEFORE INSERT ON offlineaccess FOR EACH ROW EXECUTE FUNCTION "
                    "refuse_offline()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_offline BEFORE INSERT ON offlineaccess BEGIN SELECT RAISE(FAIL, "
                    "'offline refused'); END"
                )
            )


def _allow_offline_inserts(engine) -> None:
    with engine.begin() as conn:
        on_table = " ON offlineaccess" if conn.dialect.name == "postgresql" else ""
        conn.execute(text(f"DROP TRIGGER refuse_offline{on_table}"))


def _offline_records(engine) -> tuple[list[AuditEvent], list[OfflineAccess]]:
    with Session(engine) as session:
        return (
            list(session.exec(select(AuditEvent).where(AuditEvent.action == "scan.offline"))),
            list(session.exec(select(OfflineAccess))),
        )


def test_no_audit_record_stays_behind_when_the_offline_row_cannot_be_stored(committed):
    app, engine, headers = committed
    record = _offline(Unknown, client_id=str(uuid.uuid4()))
    _refuse_offline_inserts(engine)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        for _ in range(3):  # the device keeps resending
            assert client.post("/api/v1/scans/offline", json=record, headers=headers).status_code == 500
    assert _offline_records(engine) == ([], [])
    _allow_offline_inserts(engine)
    with TestClient(app, base_url="http://testserver") as client:
        assert client.post("/api/v1/scans/offline", json=record, headers=headers).status_code == 201
        assert client.post("/api/v1/scans/offline", json=record, headers=headers).status_code == 200
    events, rows = _offline_records(engine)
    assert len(events) == 1 and len(rows) == 1 and rows[0].audit_id == events[0].id
    assert verify_database(engine, keys=audit_keys().public_keys()).ok


def test_two_resends_at_the_same_moment_record_once(committed, monkeypatch):
    app, engine, headers = committed
    record = _offline(Unknown, client_id=str(uuid.uuid4()))
    # Both requests have looked for the record and not found it before either writes.
    barrier = threading.Barrier(2, timeout=30)
    looked_up = scans.offline_receipt

    def both_look_first(**kw):
        found = looked_up(**kw)
        if found is None:
            barrier.wait()
        return found

    monkeypatch.setattr(scans, "offline_receipt", both_look_first)
    answers: list[int] = []

    def resend():
        with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
            answers.append(client.post("/api/v1/scans/offline", json=record, headers=headers).status_code)

    threads = [threading.Thread(target=resend) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(answers) == [200, 201]
    events, rows = _offline_records(engine)
    assert len(events) == 1 and len(rows) == 1 and rows[0].audit_id == events[0].id
    # The chain is whole: the losing request's append was rolled back with its row.
    assert verify_database(engine, keys=audit_keys().public_keys()).ok


# --- a card revoked before the device learned of it ----------------------------------------------


def _flags(db, rule: str) -> list:
    found = anomalies.detect(session=db, settings=get_settings(), enrolled_devices=set())
    return [a for a in found if a.rule == rule]


def test_an_offline_scan_of_a_genuine_card_is_ok_and_not_flagged(client, crew, card, db):
    body = client.post("/api/v1/scans/offline", json=_offline(card), headers=crew()).json()
    assert db.get(AuditEvent, body["audit_id"]).outcome == "ok"
    assert not [a for a in _flags(db, "offline_revoked") if a.key_seq == body["audit_id"]]


@pytest.mark.parametrize("how", ["cancelled", "replaced"])
def test_an_offline_scan_of_a_revoked_card_is_recorded_as_revoked_and_flagged(
    client, crew, card, db, personas, login, how
):
    if how == "cancelled":
        cards.revoke(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id, reason=RevokeReason.moved)
    else:
        cards.reissue(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id, reason=RevokeReason.lost)
    # The device had not yet fetched the new revocation list and showed the card as genuine.
    body = client.post("/api/v1/scans/offline", json=_offline(card), headers=crew()).json()
    event = db.get(AuditEvent, body["audit_id"])
    assert event.action == "scan.offline" and event.outcome == "revoked" and event.person_id == personas.patient.id
    assert "revoked_at=" in event.fields
    assert [a.key_seq for a in _flags(db, "offline_revoked")] == [event.seq]
    page = login(personas.admin).get("/admin/audit")
    assert "失効・未登録のカードを通信なしで読み取り" in page.text


def test_an_offline_scan_of_an_unknown_card_is_flagged(client, crew, db):
    body = client.post("/api/v1/scans/offline", json=_offline(Unknown), headers=crew()).json()
    event = db.get(AuditEvent, body["audit_id"])
    assert event.outcome == "unregistered" and event.person_id is None
    assert [a.key_seq for a in _flags(db, "offline_revoked")] == [event.seq]
