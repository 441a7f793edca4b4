"""Inbound data reaches the crew; the crew's destination reaches the hospital; the acknowledgement reaches the crew."""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.cards import service as cards
from app.persons import flows
from tests.ems.helpers import FIRE_DEPARTMENT, enrolled_device
from tests.factories import FACTORY_ACTOR, TEST_PASSWORD
from tests.network.helpers import valid

DEVICE_HEADER = "X-Lifeline-Device"


def _crew(client, db, make) -> dict[str, str]:
    device, token = enrolled_device(db)
    paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
    signed = client.post(
        "/api/v1/auth/token",
        data={"username": paramedic.username, "password": TEST_PASSWORD},
        headers={DEVICE_HEADER: token},
    )
    return {"Authorization": f"Bearer {signed.json()['access_token']}", DEVICE_HEADER: token}


def test_inbound_medication_appears_in_the_next_ems_summary(client, db, make, network_client):
    person = make.person()
    make.consent(person)
    make.entry(person, kind="medication", text="アムロジピン錠5mg")
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=person.id)
    nc = network_client()
    valid(
        nc.post(
            "MedicationStatement",
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "subject": {"reference": f"Patient/{person.id}"},
                "medicationCodeableConcept": {"text": "アムロジピン錠2.5mg（退院時処方）"},
            },
        ),
        201,
    )
    summary = client.post(
        "/api/v1/scans", json={"qr": card.qr_text, "incident": "R8-100"}, headers=_crew(client, db, make)
    ).json()["summary"]
    by_text = {m["text"]: m for m in summary["medications"]}
    hospital_entry = by_text["アムロジピン錠2.5mg（退院時処方）"]
    assert hospital_entry["source"] == "network" and hospital_entry["clinically_confirmed"]
    assert hospital_entry["source_detail"] == nc.institution.name
    assert not by_text["アムロジピン錠5mg"]["clinically_confirmed"]  # the resident's entry is kept beside it


def test_destination_reaches_the_hospital_and_the_acknowledgement_reaches_the_crew(
    client, db, make, login, hospital, network_client
):
    person = make.person()
    make.consent(person)
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=person.id)
    crew = _crew(client, db, make)
    scan = client.post(
        "/api/v1/scans", json={"qr": card.qr_text, "incident": "R8-200", "reason": "意識障害"}, headers=crew
    ).json()
    assert client.get(f"/api/v1/scans/{scan['audit_id']}/destination", headers=crew).status_code == 404
    client.post(f"/api/v1/scans/{scan['audit_id']}/destination", json={"institution_id": hospital.id}, headers=crew)
    state = client.get(f"/api/v1/scans/{scan['audit_id']}/destination", headers=crew).json()
    assert state["institution_name"] == hospital.name and state["acknowledged_at"] is None

    # Consent withdrawn meanwhile: the receiving hospital still sees its incoming patient
    # (an emergency access, flagged).
    flows.withdraw_consent(session=db, actor=FACTORY_ACTOR, person_id=person.id, reason="試験")
    # The hospital's system polls the FHIR endpoint and may read the incoming patient although no consent is on record.
    nc = network_client()
    encounters = valid(
        nc.get("Encounter", params={"status": "planned", "service-provider": f"Organization/{hospital.id}"})
    )
    assert encounters["total"] == 1 and encounters["entry"][0]["resource"]["identifier"][0]["value"] == "R8-200"
    valid(nc.get(f"Patient/{person.id}/$summary"))
    assert (
        db.exec(select(AuditEvent).where(AuditEvent.action == "fhir.summary", AuditEvent.person_id == person.id))
        .one()
        .emergency
    )

    er = login(make.user("doctor", institution_id=hospital.id, display_name="救急外来 見本"))
    page = er.get("/hospital/")
    assert page.status_code == 200 and person.full_name in page.text and "R8-200" in page.text
    er.get("/hospital/", headers={"HX-Request": "true"})  # a poll: not audited again
    views = db.exec(
        select(AuditEvent).where(AuditEvent.action == "handoff.view", AuditEvent.person_id == person.id)
    ).all()
    assert len(views) == 1 and views[0].emergency
    assert er.post(f"/hospital/handoffs/{scan['audit_id']}/acknowledge", follow_redirects=False).status_code == 303
    state = client.get(f"/api/v1/scans/{scan['audit_id']}/destination", headers=crew).json()
    assert state["acknowledged_at"] and state["acknowledged_by"] == "救急外来 見本"

    other = login(make.user("doctor", institution_id=make.practitioner().institution_id))
    assert person.full_name not in other.get("/hospital/").text
    assert other.post(f"/hospital/handoffs/{scan['audit_id']}/acknowledge").status_code == 403
