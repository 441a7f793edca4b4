"""POST /api/v1/scans/{audit_id}/destination: the hospital a crew takes the person to, after their own scan."""

from __future__ import annotations

from sqlmodel import select

from app.directory.models import Institution
from app.scans.models import Transport
from tests.scans.helpers import last_event


def _hospital(db) -> Institution:
    return db.exec(select(Institution).where(Institution.kind == "hospital").order_by(Institution.id)).first()


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
    event = last_event(db, "scan.destination")
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
