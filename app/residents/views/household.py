"""Residents and families keep their own details current: the household and each member's dataset.

Every page showing a member's dataset goes through the audited dependency; every change request
is recorded before it is carried out (``audited_changes`` for the resident role) and is then made
through the same dataset services as staff use, so the history says source 「本人・家族」.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.auth import service as auth
from app.auth.deps import CurrentUser, require_roles
from app.auth.models import Role, User
from app.cards import service as cards
from app.core.clock import today_jst
from app.core.deps import FormData, IdPath, SessionDep
from app.core.errors import DomainError, Forbidden, Invalid
from app.core.forms import parse_form
from app.core.templating import render
from app.core.wareki import age_on
from app.directory import service as directory
from app.households import service as households
from app.persons import access, dataset, flows
from app.persons import service as persons
from app.persons.deps import audited_changes, audited_person
from app.persons.models import (
    CATEGORIES,
    ClinicalEntry,
    ClinicalEntryCreate,
    ClinicalKind,
    ClinicalStatus,
    DnarStatus,
    EmergencyContact,
    EmergencyContactCreate,
    Person,
    PersonUpdate,
)
from app.residents import doctors as doctor_search

Resident = Annotated[User, Depends(require_roles(Role.resident))]
router = APIRouter(
    prefix="/me",
    include_in_schema=False,
    dependencies=[Depends(require_roles(Role.resident)), Depends(audited_changes("person", editors=(Role.resident,)))],
)
MemberView = Annotated[Person, Depends(audited_person("person.view", "dataset"))]


def editable(person_id: IdPath, user: CurrentUser, session: SessionDep) -> Person:
    """The member to change, if the resident may (own household only)."""
    person = persons.get(session=session, person_id=person_id)
    if not access.can_edit(user, person):
        raise Forbidden("この方の情報を変更する権限がありません")
    return person


Editable = Annotated[Person, Depends(editable)]


def _own(session, user: User, model, row_id: int):
    """An entry or contact of a member the resident may change; a missing row is refused alike (nothing to probe)."""
    row = session.get(model, row_id)
    person = session.get(Person, row.person_id) if row else None
    if person is None or not access.can_edit(user, person):
        raise Forbidden("この方の情報を変更する権限がありません")
    return row


def _back(person_id: int, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/me/persons/{person_id}?saved=1#{anchor}", status_code=303)


@router.get("/")
def household(request: Request, session: SessionDep, user: Resident):
    """The household's members, each with what to do next."""
    members = households.members(session=session, household_id=user.household_id) if user.household_id else []
    consents = {p.id: dataset.current_consent(session=session, person_id=p.id) for p in members}
    return render(
        request,
        "resident/household.html",
        section="home",
        members=members,
        consents=consents,
        cards={p.id: cards.current(session=session, person_id=p.id) for p in members},
        welcome=request.query_params.get("welcome") == "1",
        today=today_jst(),
        age_on=age_on,
    )


def person_context(session, person: Person, errors: dict | None = None) -> dict:
    entries = dataset.list_entries(session=session, person_id=person.id)
    doctors = {
        role: (directory.get_practitioner(session=session, practitioner_id=pid) if pid else None)
        for role, pid in (("family", person.family_doctor_id), ("second", person.second_doctor_id))
    }
    return dict(
        person=person,
        entries={kind: [e for e in entries if e.kind == kind] for kind in ClinicalKind},
        categories=CATEGORIES,
        doctors=doctors,
        institutions={i.id: i for i in directory.list_institutions(session=session)},
        contacts=dataset.list_contacts(session=session, person_id=person.id),
        consent=dataset.current_consent(session=session, person_id=person.id),
        card=cards.current(session=session, person_id=person.id),
        today=today_jst(),
        age_on=age_on,
        errors=errors or {},
    )


@router.get("/persons/{person_id}")
def member(person: MemberView, request: Request, session: SessionDep, doctor_q: str = "", doctor_role: str = ""):
    """A member's dataset with forms; ``doctor_q`` searches the directory without scripts (htmx does it as you type)."""
    context = person_context(session, person)
    context.update(
        doctor_q=doctor_q[:50],
        doctor_role=doctor_role if doctor_role in ("family", "second") else "",
        doctor_results=doctor_search.search(session=session, query=doctor_q[:50]),
    )
    return render(
        request, "resident/person.html", section="home", saved=request.query_params.get("saved") == "1", **context
    )


def _again(request: Request, session, person: Person, errors: dict):
    session.rollback()
    return render(
        request,
        "resident/person.html",
        section="home",
        status_code=422,
        saved=False,
        doctor_q="",
        doctor_role="",
        doctor_results=[],
        **person_context(session, persons.get(session=session, person_id=person.id), errors),
    )


@router.post("/persons/{person_id}/entries")
def add_entry(person: Editable, request: Request, session: SessionDep, user: Resident, form: FormData):
    kind = form.get("kind", "")
    flags = {"is_anticoagulant": "false", "is_insulin": "false"}
    data, errors = parse_form(ClinicalEntryCreate, {**form, **flags})
    if not errors:
        try:
            dataset.add_entry(session=session, actor=auth.actor_of(user), person_id=person.id, data=data)
            return _back(person.id, kind)
        except DomainError as exc:
            errors = {"text": exc.translated()}
    return _again(request, session, person, {f"{kind}.{k}": v for k, v in errors.items()})


@router.post("/entries/{entry_id}/end")
def end_entry(entry_id: IdPath, session: SessionDep, user: Resident, form: FormData):
    entry = _own(session, user, ClinicalEntry, entry_id)
    status = ClinicalStatus.entered_in_error if form.get("status") == "entered_in_error" else ClinicalStatus.ended
    dataset.end_entry(session=session, actor=auth.actor_of(user), entry_id=entry.id, status=status)
    return _back(entry.person_id, entry.kind)


@router.post("/persons/{person_id}/contacts")
def add_contact(person: Editable, request: Request, session: SessionDep, user: Resident, form: FormData):
    data, errors = parse_form(EmergencyContactCreate, form)
    if errors:
        return _again(request, session, person, {f"contact.{k}": v for k, v in errors.items()})
    dataset.add_contact(session=session, actor=auth.actor_of(user), person_id=person.id, data=data)
    return _back(person.id, "contacts")


@router.post("/contacts/{contact_id}/remove")
def remove_contact(contact_id: IdPath, session: SessionDep, user: Resident):
    contact = _own(session, user, EmergencyContact, contact_id)
    person_id = dataset.remove_contact(session=session, actor=auth.actor_of(user), contact_id=contact.id)
    return _back(person_id, "contacts")


def _update(session, user: User, person: Person, changes: dict) -> None:
    """Change some fields of the person through the one update service (history, version check)."""
    current = person.model_dump(include=set(PersonUpdate.model_fields) - {"version"})
    data = PersonUpdate.model_validate(current | changes | {"version": person.version})
    flows.update_person(session=session, actor=auth.actor_of(user), person_id=person.id, data=data)


@router.post("/persons/{person_id}/wishes")
def update_wishes(person: Editable, request: Request, session: SessionDep, user: Resident, form: FormData):
    try:
        status = DnarStatus(form.get("dnar_status", ""))
    except ValueError:
        return _again(request, session, person, {"wishes": Invalid("選択肢から選んでください").translated()})
    try:
        _update(
            session,
            user,
            person,
            {
                "dnar_status": status,
                "dnar_location": form.get("dnar_location", "").strip()[:400] or None,
                "acp_notes": form.get("acp_notes", "").strip()[:2000] or None,
            },
        )
    except (DomainError, ValueError) as exc:
        message = (
            exc.translated() if isinstance(exc, DomainError) else Invalid("入力内容を確認してください").translated()
        )
        return _again(request, session, person, {"wishes": message})
    return _back(person.id, "wishes")


@router.post("/persons/{person_id}/doctors")
def update_doctor(person: Editable, request: Request, session: SessionDep, user: Resident, form: FormData):
    role = "second" if form.get("role") == "second" else "family"
    raw = form.get("practitioner_id", "").strip()
    practitioner_id = int(raw) if raw.isdigit() and 0 < int(raw) < 2**31 else None
    if raw and practitioner_id is None:
        return _again(request, session, person, {f"doctor.{role}": Invalid("医師が見つかりません").translated()})
    try:
        _update(session, user, person, {f"{role}_doctor_id": practitioner_id})
    except DomainError as exc:
        return _again(request, session, person, {f"doctor.{role}": exc.translated()})
    return _back(person.id, "doctors")


@router.get("/doctors")
def find_doctors(request: Request, session: SessionDep, doctor_q: str = ""):
    """Autocomplete: the region's doctors matching ``doctor_q`` (name, kana, institution or specialty), as choices."""
    results = doctor_search.search(session=session, query=doctor_q[:50])
    return render(request, "resident/_partials/doctor_options.html", results=results, q=doctor_q[:50])
