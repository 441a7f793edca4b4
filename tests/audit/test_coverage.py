"""No route returns medical data without an audit record — checked two ways:

1. structurally: every route whose response model carries medical fields (an encrypted field or
   a dataset section, at any depth) depends on an audited dependency (``.audited = True``; for a
   change, the change-request record ``.audits_changes``), or is one of the few that must verify
   something first and record in the body (listed, tested here);
2. behaviourally: every GET route, called by every persona that can read a person, either shows
   none of the marker strings seeded into the person's dataset, or wrote exactly one audit record
   naming that user and that person (or their household).
"""

from __future__ import annotations

import re
import typing

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cards import service as cards
from app.core.crypto import EncryptedText
from app.persons import dataset
from app.persons.models import EmergencyContactCreate
from app.persons.schemas import PersonDetail
from tests.audit.conftest import head_seq
from tests.ems.helpers import device_login
from tests.factories import FACTORY_ACTOR
from tests.routes import all_routes

# Dataset sections of the summaries, which are built for display and are not table columns.
MEDICAL_NAMES = {
    "allergies",
    "medications",
    "conditions",
    "entries",
    "contacts",
    "summary",
    "acp_notes",
    "dnar_location",
    "insurance_number",
    "usual_state",
    "infection_notes",
    "changes",
}
# Routes that verify a credential before they know whose data it is; they call record_access in
# the body (tested below and in tests/scans, tests/ems).
AUDITED_IN_BODY = {
    ("POST", "/api/v1/scans"),
    ("POST", "/api/v1/scans/card-number"),
    ("GET", "/api/v1/households/{household_id}"),
}
MARKERS = ("MKALLERGY", "MKMEDICINE", "MKCONDITION", "MKACPWISH", "MKDNARPLACE", "MKUSUAL", "MKINFECT", "MK-98765")


def _models(annotation) -> typing.Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def is_medical(model: type[BaseModel], seen: set | None = None) -> bool:
    seen = seen if seen is not None else set()
    if model in seen:
        return False
    seen.add(model)
    for name, info in model.model_fields.items():
        if getattr(info, "sa_type", None) is EncryptedText or name in MEDICAL_NAMES:
            return True
        if any(is_medical(sub, seen) for sub in _models(info.annotation)):
            return True
    return False


def _audited(dependant, *, changes: bool) -> bool:
    """A read dependency (``audited``), or for a change the change-request record (``audits_changes``)."""
    return any(
        getattr(d.call, "audited", False)
        or (changes and getattr(d.call, "audits_changes", False))
        or _audited(d, changes=changes)
        for d in dependant.dependencies
    )


def unaudited_medical_routes(routers) -> list[str]:
    out = []
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute) or route.response_model is None:
                continue
            if not any(is_medical(m) for m in _models(route.response_model)):
                continue
            if _audited(route.dependant, changes="GET" not in route.methods) or any(
                (m, route.path) in AUDITED_IN_BODY for m in route.methods
            ):
                continue
            out.append(f"{sorted(route.methods)} {route.path}")
    return out


def test_every_route_returning_medical_data_is_audited():
    from app.main import routers

    assert unaudited_medical_routes(routers()) == []


def test_the_structural_check_catches_an_unaudited_route():
    """The check above is not vacuous: a route serving PersonDetail without the dependency is named."""
    rogue = APIRouter()

    @rogue.get("/rogue/{person_id}", response_model=list[PersonDetail])
    def leak(person_id: int):  # pragma: no cover - never called
        return []

    assert unaudited_medical_routes([rogue]) == ["['GET'] /rogue/{person_id}"]


@pytest.fixture
def marked(make, personas, db):
    """A person of the personas' household, patient of ``personas.doctor``, with markers in every medical field."""
    person = make.person(
        personas.household,
        family_doctor_id=personas.doctor.practitioner_id,
        acp_notes="MKACPWISH",
        dnar_location="MKDNARPLACE",
        usual_state="MKUSUAL",
        infection_notes="MKINFECT",
        insurance_number="MK-98765",
    )
    entries = [
        make.entry(person, kind="allergy", text="MKALLERGY"),
        make.entry(person, text="MKMEDICINE"),
        make.entry(person, kind="condition", text="MKCONDITION"),
    ]
    contact = dataset.add_contact(
        session=db,
        actor=FACTORY_ACTOR,
        person_id=person.id,
        data=EmergencyContactCreate(name="見本 連絡", relation="長女", phone="090-0000-0009"),
    )
    return person, entries[0], contact


def _url(path: str, values: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path)


@pytest.mark.parametrize("persona", ["admin", "staff", "doctor", "resident"])
def test_every_page_showing_medical_data_wrote_exactly_one_record(persona, app, personas, login, db, marked):
    person, entry, contact = marked
    user = getattr(personas, persona)
    client = login(user)
    values = {
        "person_id": person.id,
        "household_id": person.household_id,
        "entry_id": entry.id,
        "contact_id": contact.id,
    }
    shown, problems = [], []
    for method, path in all_routes(app):
        if method != "GET":
            continue
        before = head_seq(db)
        response = client.get(_url(path, values), follow_redirects=False)
        if not any(marker in response.text for marker in MARKERS):
            continue
        shown.append(path)
        new = db.exec(select(AuditEvent).where(AuditEvent.seq > before, AuditEvent.actor_user_id == user.id)).all()
        about = [
            e
            for e in new
            if e.person_id == person.id or (e.person_id is None and e.household_id == person.household_id)
        ]
        if len(about) != 1 or about[0].outcome != "ok" or about[0].actor_role != user.role:
            problems.append(f"{persona} GET {path}: {len(about)} records about the person ({[e.action for e in new]})")
    assert not problems, "\n".join(problems)
    if persona in ("admin", "staff"):
        assert {
            "/staff/persons/{person_id}",
            "/api/v1/persons/{person_id}",
            "/api/v1/persons/{person_id}/history",
        } <= set(shown)
    else:
        assert "/api/v1/persons/{person_id}" in shown


def test_a_scan_returning_the_summary_writes_exactly_one_record(personas, login, db, make):
    person = personas.patient
    make.consent(person)
    make.entry(person, kind="allergy", text="MKALLERGY")
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=person.id)
    client = device_login(login, db)(personas.paramedic)
    for path, body in (
        ("/api/v1/scans", {"qr": card.qr_text}),
        ("/api/v1/scans/card-number", {"card_number": card.card_number}),
    ):
        before = head_seq(db)
        r = client.post(path, json=body | {"incident": "R8-1", "reason": "意識障害"})
        assert r.status_code == 200 and "MKALLERGY" in r.text
        new = db.exec(select(AuditEvent).where(AuditEvent.seq > before)).all()
        assert [(e.action, e.actor_user_id, e.person_id) for e in new] == [
            ("scan.view", personas.paramedic.id, person.id)
        ]
        assert r.json()["audit_id"] == new[0].seq
