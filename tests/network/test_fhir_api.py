"""FHIR R4 API: every resource validates with fhir.resources (R4B), consent rules, audit, inbound updates."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.persons import dataset, flows
from app.persons.models import EmergencyContactCreate
from tests.factories import FACTORY_ACTOR
from tests.network.helpers import valid


@pytest.fixture
def patient(make, db):
    """A consenting person with a full dataset: two doctors (二人主治医制), contacts, insurance, entries."""
    family, second = make.practitioner(specialty="内科"), make.practitioner(specialty="糖尿病内科")
    person = make.person(
        family_doctor_id=family.id,
        second_doctor_id=second.id,
        given_name="太郎",
        given_name_kana="タロウ",
        insurance_kind="後期高齢者医療",
        insurer_number="39110000",
        insurance_number="00000001",
        sex="male",
        external_ref="T-0001",
    )
    make.consent(person)
    make.entry(person, kind="allergy", text="ペニシリン系抗菌薬", category="drug")
    make.entry(
        person,
        kind="medication",
        text="ワルファリン錠1mg",
        is_anticoagulant=True,
        code_system="yj",
        code="3332001F1010",
    )
    make.entry(person, kind="condition", text="2型糖尿病")
    dataset.add_contact(
        session=db,
        actor=FACTORY_ACTOR,
        person_id=person.id,
        data=EmergencyContactCreate(name="見本 花江", kana="ミホン ハナエ", relation="長女", phone="090-0000-0001"),
    )
    return person


def test_metadata_lists_resources_and_token_url(client):
    body = valid(client.get("/fhir/r4/metadata"))
    types = {r["type"] for r in body["rest"][0]["resource"]}
    assert {
        "Patient",
        "AllergyIntolerance",
        "Condition",
        "MedicationStatement",
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "RelatedPerson",
        "CareTeam",
        "Consent",
        "Coverage",
        "AuditEvent",
        "Encounter",
    } <= types
    oauth = body["rest"][0]["security"]["extension"][0]
    assert {e["url"]: e["valueUri"] for e in oauth["extension"]}["token"] == "http://testserver/fhir/r4/auth/token"


def test_every_resource_type_validates(network_client, patient, db):
    nc = network_client()
    p = valid(nc.get(f"Patient/{patient.id}"))
    assert p["meta"]["profile"] == ["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Patient"]
    reps = {n["extension"][0]["valueCode"]: n["text"] for n in p["name"]}
    assert reps == {"IDE": patient.full_name, "SYL": patient.full_kana}
    assert (
        p["address"][0]["state"] == "埼玉県" and p["address"][0]["city"] == "加須市" and p["address"][0]["postalCode"]
    )
    for kind in (
        "AllergyIntolerance",
        "Condition",
        "MedicationStatement",
        "RelatedPerson",
        "CareTeam",
        "Consent",
        "Coverage",
    ):
        bundle = valid(nc.get(kind, params={"patient": f"Patient/{patient.id}"}))
        assert bundle["total"] >= 1, kind
        first = bundle["entry"][0]["resource"]
        if kind in ("AllergyIntolerance", "Condition", "MedicationStatement", "RelatedPerson", "CareTeam", "Coverage"):
            valid(nc.get(f"{kind}/{first['id']}"))
    med = valid(nc.get("MedicationStatement", params={"patient": patient.id}))["entry"][0]["resource"]
    assert med["medicationCodeableConcept"]["text"] == "ワルファリン錠1mg"
    assert med["medicationCodeableConcept"]["coding"][0]["system"] == "urn:oid:1.2.392.100495.20.1.73"
    team = valid(nc.get(f"CareTeam/{patient.id}"))
    assert [p["role"][0]["coding"][0]["code"] for p in team["participant"]] == ["family", "second"]
    for kind, rid in (("Practitioner", patient.second_doctor_id), ("PractitionerRole", patient.second_doctor_id)):
        valid(nc.get(f"{kind}/{rid}"))
        valid(nc.get(kind))
    valid(nc.get(f"Organization/{nc.institution.id}"))
    valid(nc.get("Organization"))
    valid(nc.get("Patient", params={"identifier": "T-0001"}))


def test_summary_has_the_three_ips_sections(network_client, patient):
    nc = network_client()
    bundle = valid(nc.get(f"Patient/{patient.id}/$summary"))
    assert bundle["type"] == "document"
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert {s["code"]["coding"][0]["code"] for s in composition["section"]} == {"48765-2", "10160-0", "11450-4"}
    assert (
        "ワルファリン"
        in next(s for s in composition["section"] if s["code"]["coding"][0]["code"] == "10160-0")["text"]["div"]
    )
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    for section in composition["section"]:
        for ref in section["entry"]:
            assert f"http://testserver/fhir/r4/{ref['reference']}" in full_urls


def test_without_token_or_with_bad_secret(client, network_client, patient):
    answer = client.get(f"/fhir/r4/Patient/{patient.id}")
    assert answer.status_code == 401 and answer.json()["resourceType"] == "OperationOutcome"
    nc = network_client()
    bad = client.post(
        "/fhir/r4/auth/token",
        data={"grant_type": "client_credentials", "client_id": nc.client_id, "client_secret": "wrong"},
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    form = client.post(
        "/fhir/r4/auth/token",
        data={"grant_type": "client_credentials", "client_id": nc.client_id, "client_secret": nc.secret},
    )
    assert form.status_code == 200 and form.json()["token_type"] == "bearer"


def test_web_sessions_cannot_use_the_fhir_api(login, personas, patient):
    staff = login(personas.staff)
    assert staff.get(f"/fhir/r4/Patient/{patient.id}").status_code == 401


def test_no_consent_is_refused_and_audited(network_client, make, db, connection):
    person = make.person()
    make.entry(person, kind="medication", text="秘密の薬")
    nc = network_client()
    answer = nc.get(f"Patient/{person.id}")
    body = valid(answer, 404)
    assert body["resourceType"] == "OperationOutcome"
    assert (
        valid(nc.get("MedicationStatement", params={"patient": person.id}), 404)["resourceType"] == "OperationOutcome"
    )
    events = db.exec(select(AuditEvent).where(AuditEvent.person_id == person.id, AuditEvent.outcome == "refused")).all()
    assert len(events) == 2 and events[0].organisation == nc.institution.name and events[0].actor_role == "network"
    assert valid(nc.get("Patient", params={"family": person.family_name}))["total"] == 0 or all(
        e["resource"]["id"] != str(person.id)
        for e in nc.get("Patient", params={"family": person.family_name}).json()["entry"]
    )


def test_withdrawn_consent_removes_the_patient(network_client, patient, db):
    nc = network_client()
    valid(nc.get(f"Patient/{patient.id}"))
    flows.withdraw_consent(session=db, actor=FACTORY_ACTOR, person_id=patient.id, reason="本人の希望")
    valid(nc.get(f"Patient/{patient.id}"), 404)
    assert valid(nc.get("Patient", params={"identifier": "T-0001"}))["total"] == 0


def test_reads_are_audited_with_the_institution(network_client, patient, db):
    nc = network_client()
    valid(nc.get(f"Patient/{patient.id}/$summary"))
    event = db.exec(
        select(AuditEvent).where(AuditEvent.person_id == patient.id, AuditEvent.action == "fhir.summary")
    ).one()
    assert event.organisation == nc.institution.name and event.outcome == "ok" and event.purpose == nc.client_id


def test_read_scope_only_cannot_write(network_client, patient):
    nc = network_client(scopes="system/*.read")
    answer = nc.post(
        "MedicationStatement",
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": {"text": "メトホルミン"},
            "subject": {"reference": f"Patient/{patient.id}"},
        },
    )
    assert valid(answer, 403)["issue"][0]["code"] == "forbidden"


def test_inbound_entries_live_beside_resident_ones(network_client, patient, db):
    nc = network_client()
    resident_version = {e.text for e in dataset.list_entries(session=db, person_id=patient.id)}
    for body in (
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "subject": {"reference": f"Patient/{patient.id}"},
            "medicationCodeableConcept": {
                "coding": [{"system": "urn:oid:1.2.392.200119.4.403.1", "code": "107869801"}],
                "text": "ワルファリン錠0.5mg 1日1回",
            },
        },
        {"resourceType": "Condition", "subject": {"reference": f"Patient/{patient.id}"}, "code": {"text": "心房細動"}},
        {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": f"Patient/{patient.id}"},
            "category": ["medication"],
            "code": {"text": "ヨード造影剤"},
        },
    ):
        created = valid(nc.post(body["resourceType"], body), 201)
        assert created["meta"]["tag"][0]["code"] == "network"
        assert nc.institution.name in created["meta"]["tag"][0]["display"]
    entries = dataset.list_entries(session=db, person_id=patient.id)
    assert resident_version <= {e.text for e in entries}  # nothing overwritten
    assert {e.text for e in entries if e.source == "network"} == {
        "ワルファリン錠0.5mg 1日1回",
        "心房細動",
        "ヨード造影剤",
    }
    again = nc.post(
        "Condition",
        {"resourceType": "Condition", "subject": {"reference": f"Patient/{patient.id}"}, "code": {"text": "心房細動"}},
    )
    assert valid(again, 200)["id"]  # a repeat is not stored twice


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Condition"},
        {"resourceType": "Condition", "subject": {"reference": "Group/1"}, "code": {"text": "x"}},
        {
            "resourceType": "MedicationStatement",
            "status": "bogus",
            "subject": {"reference": "Patient/1"},
            "medicationCodeableConcept": {"text": "x"},
        },
        {"resourceType": "Patient"},
        ["not", "an", "object"],
    ],
)
def test_bad_inbound_is_an_operation_outcome(network_client, body):
    nc = network_client()
    resource = (
        "Condition" if not isinstance(body, dict) or body.get("resourceType") == "Patient" else body["resourceType"]
    )
    answer = nc.post(resource, body)
    assert 400 <= answer.status_code < 500
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_audit_events_only_for_the_patients_doctors(network_client, patient, db):
    from app.directory.models import Institution, Practitioner

    own = db.get(Institution, db.get(Practitioner, patient.family_doctor_id).institution_id)
    valid(network_client().get("AuditEvent", params={"patient": patient.id}), 403)
    bundle = valid(network_client(institution=own).get("AuditEvent", params={"patient": patient.id}))
    assert bundle["total"] >= 1


def test_staff_page_shows_hospital_entries_beside_the_residents(network_client, patient, login, personas):
    nc = network_client()
    valid(
        nc.post(
            "MedicationStatement",
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "subject": {"reference": f"Patient/{patient.id}"},
                "medicationCodeableConcept": {"text": "ワルファリン錠0.5mg"},
            },
        ),
        201,
    )
    page = login(personas.staff).get(f"/staff/persons/{patient.id}")
    assert page.status_code == 200
    assert 'id="compare-medication"' in page.text and "医療機関確認済" in page.text
    assert page.text.count("相違") >= 2  # 1mg (resident) and 0.5mg (hospital) differ; neither replaced the other


def test_unknown_paths_and_methods_answer_with_an_operation_outcome(network_client, client):
    nc = network_client()
    missing = valid(nc.get("Observation"), 404)  # a resource type this server does not serve
    assert missing["issue"][0]["code"] == "not-found"
    assert valid(client.get("/fhir/r4/Nothing/1"), 404)["resourceType"] == "OperationOutcome"  # not even signed in
    wrong = valid(client.delete("/fhir/r4/metadata"), 405)
    assert wrong["resourceType"] == "OperationOutcome"
    assert client.get("/api/v1/nothing").headers["content-type"] == "application/json"  # the rest is unchanged
