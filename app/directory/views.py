"""Staff web UI for the directory of institutions and practitioners."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.auth.deps import require_roles
from app.auth.models import Role
from app.core.deps import FormData, IdPath, SessionDep
from app.core.forms import parse_form
from app.core.labels import label
from app.core.templating import render
from app.directory import service as directory
from app.directory.models import InstitutionCreate, InstitutionKind, PractitionerCreate

router = APIRouter(
    prefix="/staff/directory", include_in_schema=False, dependencies=[Depends(require_roles(Role.staff, Role.admin))]
)


def _page(request: Request, session, *, errors=None, values=None, editing=None, status_code=200):
    return render(
        request,
        "staff/directory.html",
        status_code=status_code,
        section="directory",
        institutions=directory.list_institutions(session=session),
        practitioners=directory.list_practitioners(session=session),
        kinds=[(k.value, label("institution_kind", k)) for k in InstitutionKind],
        errors=errors or {},
        values=values or {},
        editing=editing,
        open_form=editing[0] if editing else next((key.split(".")[0] for key in errors or {}), None),
    )


@router.get("")
def index(request: Request, session: SessionDep):
    return _page(request, session)


@router.post("/institutions")
def create_institution(request: Request, session: SessionDep, form: FormData):
    data, errors = parse_form(InstitutionCreate, {**form, "active": form.get("active", "false")})
    if errors:
        return _page(
            request, session, errors={f"inst.{k}": v for k, v in errors.items()}, values={"inst": form}, status_code=422
        )
    directory.create_institution(session=session, data=data)
    return RedirectResponse("/staff/directory#institutions", status_code=303)


@router.get("/institutions/{institution_id}")
def edit_institution(institution_id: IdPath, request: Request, session: SessionDep):
    institution = directory.get_institution(session=session, institution_id=institution_id)
    return _page(request, session, values={"inst": institution.model_dump()}, editing=("inst", institution.id))


@router.post("/institutions/{institution_id}")
def update_institution(institution_id: IdPath, request: Request, session: SessionDep, form: FormData):
    directory.get_institution(session=session, institution_id=institution_id)
    data, errors = parse_form(InstitutionCreate, {**form, "active": form.get("active", "false")})
    if errors:
        return _page(
            request,
            session,
            errors={f"inst.{k}": v for k, v in errors.items()},
            values={"inst": form},
            editing=("inst", institution_id),
            status_code=422,
        )
    directory.update_institution(session=session, institution_id=institution_id, data=data)
    return RedirectResponse("/staff/directory#institutions", status_code=303)


@router.post("/practitioners")
def create_practitioner(request: Request, session: SessionDep, form: FormData):
    data, errors = parse_form(PractitionerCreate, {**form, "active": form.get("active", "false")})
    if errors:
        return _page(
            request, session, errors={f"pr.{k}": v for k, v in errors.items()}, values={"pr": form}, status_code=422
        )
    directory.create_practitioner(session=session, data=data)
    return RedirectResponse("/staff/directory#practitioners", status_code=303)


@router.get("/practitioners/{practitioner_id}")
def edit_practitioner(practitioner_id: IdPath, request: Request, session: SessionDep):
    practitioner = directory.get_practitioner(session=session, practitioner_id=practitioner_id)
    return _page(request, session, values={"pr": practitioner.model_dump()}, editing=("pr", practitioner.id))


@router.post("/practitioners/{practitioner_id}")
def update_practitioner(practitioner_id: IdPath, request: Request, session: SessionDep, form: FormData):
    directory.get_practitioner(session=session, practitioner_id=practitioner_id)
    data, errors = parse_form(PractitionerCreate, {**form, "active": form.get("active", "false")})
    if errors:
        return _page(
            request,
            session,
            errors={f"pr.{k}": v for k, v in errors.items()},
            values={"pr": form},
            editing=("pr", practitioner_id),
            status_code=422,
        )
    directory.update_practitioner(session=session, practitioner_id=practitioner_id, data=data)
    return RedirectResponse("/staff/directory#practitioners", status_code=303)
