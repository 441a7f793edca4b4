"""The region's directory (Organization, Practitioner, PractitionerRole) and the EMS handoff (Encounter) over FHIR."""

from __future__ import annotations

from fastapi import Request

from app.core.deps import IdPath, SessionDep
from app.directory import service as directory
from app.directory.models import Institution
from app.network import resources as fhir
from app.network import service as network
from app.network.fhir_http import OPTS, CallerDep, FhirResponse, fhir_router, needs, searchset
from app.persons.models import Person

router = fhir_router()

# --- the directory ----------------------------------------------------------------------------


@router.get("/Organization", **OPTS)
def search_organization(request: Request, session: SessionDep, caller: CallerDep):
    needs(caller, "Organization", "read")
    return FhirResponse(
        searchset(request, [fhir.organization(i) for i in directory.list_institutions(session=session)])
    )


@router.get("/Organization/{institution_id}", **OPTS)
def read_organization(institution_id: IdPath, session: SessionDep, caller: CallerDep):
    needs(caller, "Organization", "read")
    return FhirResponse(fhir.organization(directory.get_institution(session=session, institution_id=institution_id)))


@router.get("/Practitioner", **OPTS)
def search_practitioner(request: Request, session: SessionDep, caller: CallerDep):
    needs(caller, "Practitioner", "read")
    return FhirResponse(
        searchset(request, [fhir.practitioner(p) for p, _ in directory.list_practitioners(session=session)])
    )


@router.get("/Practitioner/{practitioner_id}", **OPTS)
def read_practitioner(practitioner_id: IdPath, session: SessionDep, caller: CallerDep):
    needs(caller, "Practitioner", "read")
    return FhirResponse(fhir.practitioner(directory.get_practitioner(session=session, practitioner_id=practitioner_id)))


@router.get("/PractitionerRole", **OPTS)
def search_practitioner_role(request: Request, session: SessionDep, caller: CallerDep):
    needs(caller, "PractitionerRole", "read")
    return FhirResponse(
        searchset(request, [fhir.practitioner_role(p, i) for p, i in directory.list_practitioners(session=session)])
    )


@router.get("/PractitionerRole/{practitioner_id}", **OPTS)
def read_practitioner_role(practitioner_id: IdPath, session: SessionDep, caller: CallerDep):
    needs(caller, "PractitionerRole", "read")
    p = directory.get_practitioner(session=session, practitioner_id=practitioner_id)
    return FhirResponse(
        fhir.practitioner_role(p, session.get(Institution, p.institution_id) if p.institution_id else None)
    )


# --- EMS handoff ------------------------------------------------------------------------------


@router.get("/Encounter", **OPTS)
def search_encounter(request: Request, session: SessionDep, caller: CallerDep):
    """Patients a crew is bringing to the caller's institution (last 24 h): planned emergency encounters.

    ``service-provider`` may name only the caller's own organization; poll this, then read ``Patient/{id}/$summary``.
    """
    needs(caller, "Encounter", "read")
    provider = request.query_params.get("service-provider", "").removeprefix("Organization/")
    status = request.query_params.get("status", "planned")
    if (provider and provider != str(caller.institution.id)) or status != "planned":
        return FhirResponse(searchset(request, []))
    out = []
    for t in network.incoming(session=session, institution_id=caller.institution.id):
        out.append(fhir.encounter(t, caller.institution, session.get(Person, t.person_id)))
    return FhirResponse(searchset(request, out))
