"""Every route × every persona against a declared table of what is allowed.

A route missing from ``RULES`` fails the test, so new routes must declare their rule here.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.ems.helpers import device_login, new_device
from tests.routes import all_routes

PUBLIC = "public"  # no sign-in needed
SIGNED_IN = {"admin", "staff", "doctor", "other_doctor", "paramedic", "resident", "outsider"}
STAFF = {"admin", "staff"}
# Read a person's dataset: staff; the person's own doctor; a resident of the person's household.
PERSON_READERS = {"admin", "staff", "doctor", "resident"}

RULES: dict[tuple[str, str], object] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/lang/{code}"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/"): SIGNED_IN,
    ("GET", "/account"): SIGNED_IN,
    # two-factor sign-in: the second step needs the signed half-signed-in cookie, the account pages a session
    ("GET", "/login/code"): PUBLIC,
    ("POST", "/login/code"): PUBLIC,
    ("GET", "/login/enrol"): PUBLIC,
    ("POST", "/login/enrol"): PUBLIC,
    ("POST", "/account/signout-all"): SIGNED_IN,
    ("GET", "/account/password"): SIGNED_IN,
    ("POST", "/account/password"): SIGNED_IN,
    ("GET", "/account/two-factor"): SIGNED_IN,
    ("POST", "/account/two-factor"): SIGNED_IN,
    ("POST", "/account/two-factor/reset"): SIGNED_IN,
    ("POST", "/account/recovery-codes"): SIGNED_IN,
    # passkeys: a second way through the code step, added by those who have the authenticator set up
    ("POST", "/login/passkey/options"): PUBLIC,
    ("POST", "/login/passkey"): PUBLIC,
    ("POST", "/account/passkeys/options"): {"admin", "staff", "doctor", "other_doctor"},
    ("POST", "/account/passkeys"): {"admin", "staff", "doctor", "other_doctor"},
    ("POST", "/account/passkeys/{passkey_id}/delete"): SIGNED_IN,  # one's own only (404 otherwise)
    ("GET", "/api/v1/me"): SIGNED_IN,
    # households API
    ("GET", "/api/v1/households"): STAFF,
    ("POST", "/api/v1/households"): STAFF,
    ("GET", "/api/v1/households/{household_id}"): STAFF,
    ("PUT", "/api/v1/households/{household_id}"): STAFF,
    # persons API
    ("GET", "/api/v1/persons"): STAFF,
    ("POST", "/api/v1/households/{household_id}/persons"): STAFF,
    ("GET", "/api/v1/persons/{person_id}"): PERSON_READERS,
    ("PUT", "/api/v1/persons/{person_id}"): STAFF,
    ("GET", "/api/v1/persons/{person_id}/history"): PERSON_READERS,
    ("POST", "/api/v1/persons/{person_id}/entries"): STAFF,
    ("POST", "/api/v1/persons/{person_id}/contacts"): STAFF,
    # cards
    ("GET", "/.well-known/lifeline/keys.json"): PUBLIC,
    ("GET", "/.well-known/lifeline/revocations.json"): PUBLIC,
    ("GET", "/C/{payload}"): PUBLIC,
    ("GET", "/c/{payload}"): PUBLIC,
    ("GET", "/api/v1/persons/{person_id}/cards"): STAFF,
    ("POST", "/api/v1/persons/{person_id}/cards"): STAFF,
    ("POST", "/api/v1/persons/{person_id}/cards/reissue"): STAFF,
    ("POST", "/api/v1/persons/{person_id}/cards/revoke"): STAFF,
    # scans: a paramedic sees only what they scan
    ("POST", "/api/v1/scans"): {"paramedic"},
    # EMS field app (issue 5): a paramedic on an enrolled device (tests/ems)
    ("POST", "/api/v1/scans/card-number"): {"paramedic"},
    ("POST", "/api/v1/scans/offline"): {"paramedic"},
    ("POST", "/api/v1/scans/{audit_id}/destination"): {"paramedic"},
    ("POST", "/api/v1/devices/enroll"): PUBLIC,  # the one-time code is the credential
    ("GET", "/api/v1/institutions"): SIGNED_IN,
    ("GET", "/ems/sw.js"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): SIGNED_IN,
    # Regional network (issue 8): FHIR needs a network client's bearer token (kind "fhir"), which no web
    # persona has, so every FHIR data route is closed to all of them (tests/network covers the clients).
    ("GET", "/fhir/r4/metadata"): PUBLIC,
    ("POST", "/fhir/r4/auth/token"): PUBLIC,
    ("GET", "/fhir/r4/auth/authorize"): PUBLIC,
    **{
        ("GET", f"/fhir/r4/{t}"): set()
        for t in (
            "Patient",
            "AllergyIntolerance",
            "Condition",
            "MedicationStatement",
            "RelatedPerson",
            "CareTeam",
            "Consent",
            "Coverage",
            "AuditEvent",
            "Organization",
            "Practitioner",
            "PractitionerRole",
            "Encounter",
        )
    },
    **{("POST", f"/fhir/r4/{t}"): set() for t in ("AllergyIntolerance", "Condition", "MedicationStatement")},
    ("GET", "/fhir/r4/Patient/{person_id}"): set(),
    ("GET", "/fhir/r4/Patient/{person_id}/$summary"): set(),
    **{
        ("GET", f"/fhir/r4/{t}/{{entry_id}}"): set() for t in ("AllergyIntolerance", "Condition", "MedicationStatement")
    },
    ("GET", "/fhir/r4/RelatedPerson/{contact_id}"): set(),
    ("GET", "/fhir/r4/CareTeam/{person_id}"): set(),
    ("GET", "/fhir/r4/Coverage/{person_id}"): set(),
    ("GET", "/fhir/r4/Organization/{institution_id}"): set(),
    ("GET", "/fhir/r4/Practitioner/{practitioner_id}"): set(),
    ("GET", "/fhir/r4/PractitionerRole/{practitioner_id}"): set(),
    # The receiving hospital's dashboard (doctors; the hospital is the user's institution_id).
    ("GET", "/hospital/"): {"doctor", "other_doctor"},
    ("POST", "/hospital/handoffs/{audit_id}/acknowledge"): {"doctor", "other_doctor"},
    ("GET", "/api/v1/scans/{audit_id}/destination"): {"paramedic"},
    # residents (issue 7): first sign-in with the letter's code is public; a member's pages are for
    # their own household only (the outsider is another household's resident)
    ("GET", "/me/start"): PUBLIC,
    ("POST", "/me/start"): PUBLIC,
    ("GET", "/me/persons/{person_id}"): {"resident"},
    ("POST", "/me/persons/{person_id}/entries"): {"resident"},
    ("POST", "/me/persons/{person_id}/contacts"): {"resident"},
    ("POST", "/me/persons/{person_id}/wishes"): {"resident"},
    ("POST", "/me/persons/{person_id}/doctors"): {"resident"},
    ("POST", "/me/entries/{entry_id}/end"): {"resident"},
    ("POST", "/me/contacts/{contact_id}/remove"): {"resident"},
    ("GET", "/me/persons/{person_id}/sheet.pdf"): {"resident"},
    ("GET", "/me/persons/{person_id}/card"): {"resident"},
    ("POST", "/me/persons/{person_id}/card/lost"): {"resident"},
    ("GET", "/me/persons/{person_id}/consent"): {"resident"},
    ("POST", "/me/persons/{person_id}/consent"): {"resident"},
    ("POST", "/me/persons/{person_id}/consent/withdraw"): {"resident"},
    # a doctor confirms entries of their own patients only
    ("POST", "/doctor/entries/{entry_id}/confirm"): {"doctor"},
}
# The whole staff web UI is for city staff and admins only.
STAFF_UI_PREFIXES = ("/staff",)
# The admin web UI (devices, …) is for admins only.
ADMIN_UI_PREFIXES = ("/admin",)
# A doctor's pages (access review of their own patients) and a resident's self-service pages.
DOCTOR_UI_PREFIXES = ("/doctor",)
RESIDENT_UI_PREFIXES = ("/me",)

PERSONAS = ["anonymous", "admin", "staff", "doctor", "other_doctor", "paramedic", "resident", "outsider"]


def rule_for(method: str, path: str):
    if (method, path) in RULES:
        return RULES[(method, path)]
    if path.startswith(STAFF_UI_PREFIXES):
        return STAFF
    if path.startswith(ADMIN_UI_PREFIXES):
        return {"admin"}
    if path.startswith(DOCTOR_UI_PREFIXES):
        return {"doctor", "other_doctor"}
    if path.startswith(RESIDENT_UI_PREFIXES):
        return {"resident", "outsider"}
    raise AssertionError(f"{method} {path} has no declared access rule in tests/test_authorization.py")


def test_every_route_has_a_rule(app):
    for method, path in all_routes(app):
        rule_for(method, path)


@pytest.fixture
def login(login, db):
    """Paramedics work only on an enrolled device (app.devices): their sessions are bound to one."""
    return device_login(login, db)


@pytest.fixture
def world(make, personas, db):
    from app.persons import dataset
    from app.persons.models import EmergencyContactCreate
    from tests.factories import FACTORY_ACTOR

    contact = dataset.add_contact(
        session=db,
        actor=FACTORY_ACTOR,
        person_id=personas.patient.id,
        data=EmergencyContactCreate(name="見本 花江", relation="長女", phone="090-0000-0001"),
    )
    entry = make.entry(personas.patient, kind="allergy", text="ペニシリン")
    practitioner = make.practitioner()
    return {
        "person_id": personas.patient.id,
        "household_id": personas.household.id,
        "entry_id": entry.id,
        "contact_id": contact.id,
        "institution_id": practitioner.institution_id,
        "practitioner_id": practitioner.id,
        "code": "en",
        "job_id": 999999,
        "payload": "123",
        "device_id": new_device(db)[0].id,
        "audit_id": 999999,
        "passkey_id": 999999,
        "user_id": 999999,
        "seq": 999999,
        "rule": "burst",
    }


def _client_for(persona: str, personas, login, app) -> TestClient:
    if persona == "anonymous":
        c = TestClient(app, base_url="http://testserver")
        c.get("/login")
        c.headers["x-csrftoken"] = c.cookies.get("csrftoken", "")
        return c
    return login(getattr(personas, persona))


def _denied(persona: str, response) -> bool:
    if response.status_code in (401, 403):
        return True
    return persona == "anonymous" and response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize("persona", PERSONAS)
def test_authorization_matrix(persona, app, personas, login, world):
    problems = []
    for method, path in all_routes(app):
        rule = rule_for(method, path)
        url = re.sub(r"\{(\w+)\}", lambda m: str(world[m.group(1)]), path)
        client = _client_for(persona, personas, login, app)
        response = client.request(method, url, follow_redirects=False)
        assert response.status_code < 500, f"{persona} {method} {url} → {response.status_code}"
        if rule == PUBLIC:
            continue  # reachable by anyone; only "no server error" is asserted above
        allowed = persona in rule
        if allowed and _denied(persona, response):
            problems.append(f"{persona} should reach {method} {url} but got {response.status_code}")
        if not allowed and not _denied(persona, response):
            problems.append(f"{persona} must not reach {method} {url} but got {response.status_code}")
    assert not problems, "\n".join(problems)


def test_relationship_rules_apply_to_other_persons(personas, login):
    """A doctor sees only their patients; a resident only their household."""
    other = f"/api/v1/persons/{personas.other_person.id}"
    assert login(personas.doctor).get(other).status_code == 403
    assert login(personas.resident).get(other).status_code == 403
    assert login(personas.other_doctor).get(other).status_code == 200
    assert login(personas.outsider).get(other).status_code == 200


def test_paramedic_and_resident_cannot_list_households(personas, login):
    for who in (personas.paramedic, personas.resident):
        c = login(who)
        assert c.get("/api/v1/households").status_code == 403
        assert c.get("/staff/kits/pending").status_code == 403
        assert c.get("/api/v1/persons", params={"q": "ミホン"}).status_code == 403
