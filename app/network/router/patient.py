"""FHIR R4 API under ``/fhir/r4/`` for the region's hospital and clinic systems (docs/fhir.md).

Every route answers ``application/fhir+json``; every error is an OperationOutcome (``FhirRoute``
converts domain, validation and HTTP errors). Reading patient data goes through ``patient_for``,
which checks consent and writes the audit record first, refused attempts included.
"""

from __future__ import annotations

from fastapi import Request
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.access_log import record_access
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.errors import Forbidden, NotFound
from app.households.models import Household
from app.network import resources as fhir
from app.network import service as network
from app.network.clients import Caller
from app.network.fhir_http import (
    OPTS,
    CallerDep,
    FhirResponse,
    base_url,
    fhir_router,
    needs,
    searchset,
)
from app.network.router.discovery import SEARCH_PARAMS
from app.persons import dataset
from app.persons.models import ClinicalEntry, ClinicalKind, EmergencyContact, Person

router = fhir_router()


def patient_for(
    *, request: Request, session, engine, caller: Caller, person_id: int, resource_type: str, action: str = "fhir.read"
) -> Person:
    """The person if the caller may read them (consent, or an incoming handoff); every attempt is audited."""
    needs(caller, resource_type, "read")
    person = session.get(Person, person_id)
    basis = network.access_basis(session=session, caller=caller, person=person) if person else None
    common = dict(
        engine=engine,
        request=request,
        user=caller.user,
        action=action,
        fields=resource_type,
        purpose=caller.client.client_id,
    )
    if basis is None:
        # Not found and not consented look the same from outside: a client cannot probe who is registered.
        record_access(person=person, outcome="refused" if person else "not_found", **common)
        raise NotFound("Patient/%(id)s は見つからないか、共有への同意がありません", id=person_id)
    record_access(person=person, emergency=basis == "handoff", **common)
    return person


# --- patient data -----------------------------------------------------------------------------


@router.get("/Patient/{person_id}", **OPTS)
def read_patient(person_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    person = patient_for(
        request=request, session=session, engine=engine, caller=caller, person_id=person_id, resource_type="Patient"
    )
    return FhirResponse(fhir.patient(person, session.get(Household, person.household_id)))


@router.get("/Patient/{person_id}/$summary", **OPTS)
def patient_summary(person_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    """International Patient Summary–shaped document Bundle (allergies, medications, problems)."""
    person = patient_for(
        request=request,
        session=session,
        engine=engine,
        caller=caller,
        person_id=person_id,
        resource_type="Patient",
        action="fhir.summary",
    )
    return FhirResponse(network.summary(session=session, person=person, base=base_url(request)))


@router.get("/Patient", **OPTS)
def search_patient(request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    """Search by identifier, name (kanji or kana), birthdate; only patients the caller may read are returned."""
    needs(caller, "Patient", "read")
    params = {k: v for k, v in request.query_params.items() if k in SEARCH_PARAMS["Patient"]}
    if not params:
        raise Forbidden("検索条件（identifier、name、birthdate など）を指定してください")
    found = []
    for person in network.search_patients(session=session, params=params):
        if network.access_basis(session=session, caller=caller, person=person):
            record_access(
                engine=engine,
                request=request,
                user=caller.user,
                action="fhir.search",
                person=person,
                fields="Patient",
                purpose=caller.client.client_id,
            )
            found.append(fhir.patient(person, session.get(Household, person.household_id)))
    return FhirResponse(searchset(request, found))


def _patient_param(request: Request) -> int:
    value = request.query_params.get("patient", "").removeprefix("Patient/")
    if not value.isdigit() or not 1 <= int(value) <= 2_147_483_647:
        raise Forbidden("patient パラメータ（Patient/id）を指定してください")
    return int(value)


def _entry_search(kind: ClinicalKind):
    resource_type = fhir.TYPE_OF_KIND[kind]

    def search(request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
        person = patient_for(
            request=request,
            session=session,
            engine=engine,
            caller=caller,
            person_id=_patient_param(request),
            resource_type=resource_type,
            action="fhir.search",
        )
        entries = [e for e in dataset.list_entries(session=session, person_id=person.id) if e.kind == kind]
        return FhirResponse(searchset(request, [fhir.clinical(e) for e in entries]))

    def read(entry_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
        entry = session.get(ClinicalEntry, entry_id)
        if entry is None or entry.kind != kind:
            raise NotFound("%(type)s/%(id)s は見つかりません", type=resource_type, id=entry_id)
        patient_for(
            request=request,
            session=session,
            engine=engine,
            caller=caller,
            person_id=entry.person_id,
            resource_type=resource_type,
        )
        return FhirResponse(fhir.clinical(entry))

    def create(request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep, body: dict):
        """Store the institution's entry beside the resident's (shown as 医療機関確認済, never overwriting)."""
        needs(caller, resource_type, "write")
        person_id, data = network.parse_inbound(resource_type, body)
        person = patient_for(
            request=request,
            session=session,
            engine=engine,
            caller=caller,
            person_id=person_id,
            resource_type=resource_type,
            action="fhir.create",
        )
        entry, created = network.add_inbound(session=session, caller=caller, person=person, data=data)
        return FhirResponse(
            fhir.clinical(entry),
            status_code=201 if created else 200,
            headers={"Location": f"{base_url(request)}/{resource_type}/{entry.id}"},
        )

    router.add_api_route(f"/{resource_type}", search, methods=["GET"], name=f"search_{resource_type}", **OPTS)
    router.add_api_route(f"/{resource_type}/{{entry_id}}", read, methods=["GET"], name=f"read_{resource_type}", **OPTS)
    router.add_api_route(
        f"/{resource_type}", create, methods=["POST"], name=f"create_{resource_type}", status_code=201, **OPTS
    )


for _kind in ClinicalKind:
    _entry_search(_kind)


@router.get("/RelatedPerson", **OPTS)
def search_related(request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    person = patient_for(
        request=request,
        session=session,
        engine=engine,
        caller=caller,
        person_id=_patient_param(request),
        resource_type="RelatedPerson",
        action="fhir.search",
    )
    return FhirResponse(
        searchset(
            request, [fhir.related_person(c) for c in dataset.list_contacts(session=session, person_id=person.id)]
        )
    )


@router.get("/RelatedPerson/{contact_id}", **OPTS)
def read_related(contact_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    contact = session.get(EmergencyContact, contact_id)
    if contact is None:
        raise NotFound("RelatedPerson/%(id)s は見つかりません", id=contact_id)
    patient_for(
        request=request,
        session=session,
        engine=engine,
        caller=caller,
        person_id=contact.person_id,
        resource_type="RelatedPerson",
    )
    return FhirResponse(fhir.related_person(contact))


@router.get("/CareTeam/{person_id}", **OPTS)
def read_care_team(person_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    """The family doctor and the second doctor (二人主治医制); the team's id is the patient's."""
    person = patient_for(
        request=request, session=session, engine=engine, caller=caller, person_id=person_id, resource_type="CareTeam"
    )
    return FhirResponse(fhir.care_team(person, network.doctors(session=session, person=person)))


@router.get("/CareTeam", **OPTS)
def search_care_team(request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    person = patient_for(
        request=request,
        session=session,
        engine=engine,
        caller=caller,
        person_id=_patient_param(request),
        resource_type="CareTeam",
        action="fhir.search",
    )
    return FhirResponse(searchset(request, [fhir.care_team(person, network.doctors(session=session, person=person))]))


@router.get("/Consent", **OPTS)
def search_consent(request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    person = patient_for(
        request=request,
        session=session,
        engine=engine,
        caller=caller,
        person_id=_patient_param(request),
        resource_type="Consent",
        action="fhir.search",
    )
    return FhirResponse(
        searchset(request, [fhir.consent(c) for c in dataset.list_consents(session=session, person_id=person.id)])
    )


@router.get("/Coverage/{person_id}", **OPTS)
def read_coverage(person_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    person = patient_for(
        request=request, session=session, engine=engine, caller=caller, person_id=person_id, resource_type="Coverage"
    )
    if (resource := fhir.coverage(person)) is None:
        raise NotFound("保険の記録がありません")
    return FhirResponse(resource)


@router.get("/Coverage", **OPTS)
def search_coverage(request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    person = patient_for(
        request=request,
        session=session,
        engine=engine,
        caller=caller,
        person_id=_patient_param(request),
        resource_type="Coverage",
        action="fhir.search",
    )
    return FhirResponse(searchset(request, [r for r in [fhir.coverage(person)] if r]))


@router.get("/AuditEvent", **OPTS)
def search_audit(request: Request, session: SessionDep, engine: EngineDep, caller: CallerDep):
    """Accesses to a patient, for the institution of the patient's own family or second doctor only."""
    person = patient_for(
        request=request,
        session=session,
        engine=engine,
        caller=caller,
        person_id=_patient_param(request),
        resource_type="AuditEvent",
        action="fhir.audit",
    )
    own = {inst.id for _, inst in network.doctors(session=session, person=person).values() if inst}
    if caller.institution.id not in own:
        raise Forbidden("アクセス記録は、この方の主治医の医療機関だけが見られます")
    events = session.exec(
        select(AuditEvent).where(AuditEvent.person_id == person.id).order_by(AuditEvent.seq.desc()).limit(200)
    )
    return FhirResponse(searchset(request, [fhir.audit_event(e) for e in events]))
