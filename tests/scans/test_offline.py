"""POST /api/v1/scans/offline: a scan the field app verified without a network, recorded once when it is back."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.scans.models import OfflineAccess
from tests.scans.helpers import last_event


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
