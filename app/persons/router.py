"""JSON API for persons. Reads of medical data go through the audited dependency."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.auth import service as auth
from app.auth.access_log import record_access
from app.auth.deps import StaffUser
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.errors import StaleVersion
from app.history import conflicts
from app.history import service as history
from app.persons import dataset, flows
from app.persons import service as persons
from app.persons.deps import PersonHistoryView, PersonView, audited_changes
from app.persons.models import (
    ClinicalEntry,
    ClinicalEntryCreate,
    ClinicalEntryPublic,
    EmergencyContact,
    EmergencyContactCreate,
    EmergencyContactPublic,
    Person,
    PersonCreate,
    PersonPublic,
    PersonUpdate,
)
from app.persons.schemas import PersonConflict, PersonDetail, PersonHistory, PersonSummary

router = APIRouter(prefix="/api/v1", tags=["persons"], dependencies=[Depends(audited_changes("person"))])


@router.get("/persons", response_model=list[PersonSummary])
def search(q: str, request: Request, session: SessionDep, engine: EngineDep, user: StaffUser) -> list[PersonSummary]:
    """Search by kana, kanji, phone, address or birth date (和暦 accepted); at most 50."""
    results = persons.search(session=session, query=q)
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="person.search",
        fields=f"results={len(results)}",
        purpose="registry",
    )
    return [
        PersonSummary(
            **p.model_dump(include=set(PersonSummary.model_fields)),
            address=f"{h.municipality}{h.address_line} {h.building}".strip(),
        )
        for p, h in results
    ]


@router.post("/households/{household_id}/persons", response_model=PersonPublic, status_code=201)
def create(household_id: IdPath, data: PersonCreate, session: SessionDep, user: StaffUser) -> Person:
    """Register a member of a household."""
    return persons.create(session=session, actor=auth.actor_of(user), household_id=household_id, data=data)


@router.get("/persons/{person_id}", response_model=PersonDetail)
def read(person: PersonView, session: SessionDep) -> PersonDetail:
    """The whole dataset of a person (audited)."""
    return PersonDetail(
        **PersonPublic.model_validate(person).model_dump(),
        entries=dataset.list_entries(session=session, person_id=person.id),
        contacts=dataset.list_contacts(session=session, person_id=person.id),
        consents=dataset.list_consents(session=session, person_id=person.id),
    )


@router.put(
    "/persons/{person_id}",
    response_model=PersonPublic,
    responses=conflicts.responses(PersonConflict, "Saved by someone else since `version`: the stored person."),
)
def update(
    person_id: IdPath, data: PersonUpdate, request: Request, session: SessionDep, engine: EngineDep, user: StaffUser
):
    """Replace a person's details; 409 when ``version`` is stale, with the stored version (audited)."""
    try:
        return flows.update_person(session=session, actor=auth.actor_of(user), person_id=person_id, data=data)
    except StaleVersion as exc:
        return conflicts.problem(
            PersonConflict,
            exc,
            submitted=data,
            public=PersonPublic,
            entity="person",
            engine=engine,
            request=request,
            user=user,
        )


@router.get("/persons/{person_id}/history", response_model=PersonHistory)
def read_history(person: PersonHistoryView, session: SessionDep) -> PersonHistory:
    """Who changed what, when (audited)."""
    return PersonHistory(
        person_id=person.id,
        changes=history.list_for_person(session=session, person_id=person.id, household_id=person.household_id),
    )


@router.post("/persons/{person_id}/entries", response_model=ClinicalEntryPublic, status_code=201)
def add_entry(person_id: IdPath, data: ClinicalEntryCreate, session: SessionDep, user: StaffUser) -> ClinicalEntry:
    """Add an allergy, medication or condition."""
    return dataset.add_entry(session=session, actor=auth.actor_of(user), person_id=person_id, data=data)


@router.post("/persons/{person_id}/contacts", response_model=EmergencyContactPublic, status_code=201)
def add_contact(
    person_id: IdPath, data: EmergencyContactCreate, session: SessionDep, user: StaffUser
) -> EmergencyContact:
    """Add an emergency contact."""
    return dataset.add_contact(session=session, actor=auth.actor_of(user), person_id=person_id, data=data)
