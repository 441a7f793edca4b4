"""Staff web UI for a person: register, view (audited), edit, dataset entries, consent, history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.auth import service as auth
from app.auth.deps import StaffUser, require_roles
from app.auth.models import Role
from app.cards import service as cards
from app.core.clock import today_jst
from app.core.deps import EngineDep, FormData, IdPath, SessionDep
from app.core.errors import DomainError, Invalid, StaleVersion
from app.core.forms import parse_form
from app.core.i18n import gettext as _
from app.core.labels import history_value
from app.core.templating import render
from app.core.wareki import age_on
from app.directory import service as directory
from app.history import conflicts
from app.history import service as history
from app.households import service as households
from app.persons import dataset, flows
from app.persons import service as persons
from app.persons.deps import PersonHistoryView, PersonView, audited_changes
from app.persons.models import (
    CATEGORIES,
    ClinicalEntryCreate,
    ClinicalKind,
    ClinicalStatus,
    ConsentBase,
    EmergencyContactCreate,
    Person,
    PersonCreate,
    PersonUpdate,
)

router = APIRouter(
    prefix="/staff",
    include_in_schema=False,
    dependencies=[Depends(require_roles(Role.staff, Role.admin)), Depends(audited_changes("person"))],
)


def _form_page(
    request: Request,
    session,
    *,
    household,
    person=None,
    values=None,
    errors=None,
    status_code=200,
    latest=None,
    differences=None,
):
    return render(
        request,
        "staff/person_form.html",
        status_code=status_code,
        household=household,
        person=person,
        values=values or {},
        errors=errors or {},
        latest=latest,
        differences=differences,
        doctor_options=_doctor_options(session),
    )


def _doctor_options(session) -> list[tuple[str, str]]:
    options = [("", _("（未登録）"))]
    for practitioner, institution in directory.list_practitioners(session=session, active_only=True):
        where = institution.name if institution else _("所属なし")
        specialty = f" {practitioner.specialty}" if practitioner.specialty else ""
        options.append((str(practitioner.id), f"{practitioner.full_name}（{where}{specialty}）"))
    return options


@router.get("/households/{household_id}/persons/new")
def new_person(household_id: IdPath, request: Request, session: SessionDep):
    household = households.get(session=session, household_id=household_id)
    values = {"consented_on": today_jst().isoformat(), "consent_method": "written"}
    return _form_page(request, session, household=household, values=values)


@router.post("/households/{household_id}/persons")
def create_person(household_id: IdPath, request: Request, session: SessionDep, user: StaffUser, form: FormData):
    household = households.get(session=session, household_id=household_id)
    data, errors = parse_form(PersonCreate, form)
    consent, consent_errors = parse_form(
        ConsentBase,
        {
            "consented_on": form.get("consented_on", ""),
            "method": form.get("consent_method", "written"),
            "proxy_name": form.get("proxy_name", ""),
        },
    )
    errors |= {("consented_on" if k == "consented_on" else k): v for k, v in consent_errors.items()}
    if not form.get("consent_given"):
        errors["consent_given"] = "同意を得てから登録してください（同意書の受領を確認してください）"
    if errors:
        return _form_page(request, session, household=household, values=form, errors=errors, status_code=422)
    actor = auth.actor_of(user)
    try:
        person = persons.create(session=session, actor=actor, household_id=household_id, data=data, commit=False)
        dataset.record_consent(session=session, actor=actor, person_id=person.id, data=consent, commit=False)
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _form_page(
            request,
            session,
            household=household,
            values=form,
            errors={"__all__": exc.translated()},
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/staff/persons/{person.id}", status_code=303)


@router.get("/persons/{person_id}")
def show_person(person: PersonView, request: Request, session: SessionDep):
    return render(request, "staff/person.html", **_person_context(session, person))


def _person_context(session, person: Person) -> dict:
    entries = dataset.list_entries(session=session, person_id=person.id)
    by_kind = {kind: [e for e in entries if e.kind == kind] for kind in ClinicalKind}
    doctors = {
        role: directory.get_practitioner(session=session, practitioner_id=pid) if pid else None
        for role, pid in (("family", person.family_doctor_id), ("second", person.second_doctor_id))
    }
    institutions = {i.id: i for i in directory.list_institutions(session=session)}
    return dict(
        person=person,
        household=households.get(session=session, household_id=person.household_id),
        entries=by_kind,
        categories=CATEGORIES,
        doctors=doctors,
        institutions=institutions,
        contacts=dataset.list_contacts(session=session, person_id=person.id),
        consents=dataset.list_consents(session=session, person_id=person.id),
        cards=cards.list_for_person(session=session, person_id=person.id),
        today=today_jst(),
        age_on=age_on,
        errors={},
    )


@router.get("/persons/{person_id}/edit")
def edit_person(person: PersonView, request: Request, session: SessionDep):
    values = person.model_dump()
    values["birth_date"] = person.birth_date.isoformat()
    values["last_confirmed_on"] = person.last_confirmed_on.isoformat() if person.last_confirmed_on else ""
    household = households.get(session=session, household_id=person.household_id)
    return _form_page(request, session, household=household, person=person, values=values)


@router.post("/persons/{person_id}/edit")
def update_person(
    person_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: StaffUser, form: FormData
):
    person = persons.get(session=session, person_id=person_id)
    household = households.get(session=session, household_id=person.household_id)
    data, errors = parse_form(PersonUpdate, form)
    if not errors:
        try:
            flows.update_person(session=session, actor=auth.actor_of(user), person_id=person_id, data=data)
            return RedirectResponse(f"/staff/persons/{person_id}", status_code=303)
        except StaleVersion as exc:
            latest = conflicts.reread(
                session=session,
                engine=engine,
                request=request,
                user=user,
                entity="person",
                reload=lambda: persons.get(session=session, person_id=person_id),
            )
            doctors = {str(p.id): p.full_name for p, _ in directory.list_practitioners(session=session)}
            differences = conflicts.compare(
                submitted=data, current=latest, display=lambda f, v: history_value(f, v, doctors)
            )
            return _form_page(
                request,
                session,
                household=household,
                person=latest,
                values=form,
                errors={"__all__": exc.translated()},
                status_code=409,
                latest=latest,
                differences=differences,
            )
        except Invalid as exc:
            session.rollback()
            errors = {exc.field or "__all__": exc.translated()}
    return _form_page(request, session, household=household, person=person, values=form, errors=errors, status_code=422)


def _back(person_id: int, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/staff/persons/{person_id}#{anchor}", status_code=303)


def _rerender_with_errors(request: Request, session, person_id: int, errors: dict, status_code: int = 422):
    context = _person_context(session, persons.get(session=session, person_id=person_id))
    context["errors"] = errors
    return render(request, "staff/person.html", status_code=status_code, **context)


@router.post("/persons/{person_id}/entries")
def add_entry(person_id: IdPath, request: Request, session: SessionDep, user: StaffUser, form: FormData):
    data, errors = parse_form(
        ClinicalEntryCreate,
        {
            **form,
            "is_anticoagulant": form.get("is_anticoagulant", "false"),
            "is_insulin": form.get("is_insulin", "false"),
        },
    )
    kind = form.get("kind", "")
    if not errors:
        try:
            dataset.add_entry(session=session, actor=auth.actor_of(user), person_id=person_id, data=data)
            return _back(person_id, kind)
        except DomainError as exc:
            session.rollback()
            errors = {"text": exc.translated()}
    return _rerender_with_errors(request, session, person_id, {f"{kind}.{k}": v for k, v in errors.items()})


@router.post("/entries/{entry_id}/status")
def end_entry(entry_id: IdPath, session: SessionDep, user: StaffUser, form: FormData):
    try:
        status = ClinicalStatus(form.get("status", ""))
    except ValueError:
        raise DomainError("状態が正しくありません") from None
    entry = dataset.end_entry(session=session, actor=auth.actor_of(user), entry_id=entry_id, status=status)
    return _back(entry.person_id, entry.kind)


@router.post("/persons/{person_id}/contacts")
def add_contact(person_id: IdPath, request: Request, session: SessionDep, user: StaffUser, form: FormData):
    data, errors = parse_form(EmergencyContactCreate, form)
    if errors:
        return _rerender_with_errors(request, session, person_id, {f"contact.{k}": v for k, v in errors.items()})
    dataset.add_contact(session=session, actor=auth.actor_of(user), person_id=person_id, data=data)
    return _back(person_id, "contacts")


@router.post("/contacts/{contact_id}/remove")
def remove_contact(contact_id: IdPath, session: SessionDep, user: StaffUser):
    person_id = dataset.remove_contact(session=session, actor=auth.actor_of(user), contact_id=contact_id)
    return _back(person_id, "contacts")


@router.post("/persons/{person_id}/consent")
def record_consent(person_id: IdPath, request: Request, session: SessionDep, user: StaffUser, form: FormData):
    data, errors = parse_form(ConsentBase, form)
    if not errors:
        try:
            dataset.record_consent(session=session, actor=auth.actor_of(user), person_id=person_id, data=data)
            return _back(person_id, "consent")
        except DomainError as exc:
            session.rollback()
            errors = {"__all__": exc.translated()}
    return _rerender_with_errors(request, session, person_id, {f"consent.{k}": v for k, v in errors.items()})


@router.post("/persons/{person_id}/consent/withdraw")
def withdraw_consent(person_id: IdPath, session: SessionDep, user: StaffUser, form: FormData):
    flows.withdraw_consent(
        session=session, actor=auth.actor_of(user), person_id=person_id, reason=form.get("reason", "").strip()
    )
    return _back(person_id, "consent")


@router.get("/persons/{person_id}/history")
def person_history(person: PersonHistoryView, request: Request, session: SessionDep):
    changes = history.list_for_person(session=session, person_id=person.id, household_id=person.household_id)
    doctors = {str(p.id): p.full_name for p, _ in directory.list_practitioners(session=session)}
    return render(
        request,
        "staff/person_history.html",
        person=person,
        changes=changes,
        doctors=doctors,
        history_value=history_value,
    )
