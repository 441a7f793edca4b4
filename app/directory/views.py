"""Staff web UI for the directory of institutions and practitioners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, SQLModel

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


@dataclass(frozen=True)
class _Form:
    """One of the page's two forms: its field prefix, its anchor, its model and the services it calls."""

    key: str
    anchor: str
    model: type[SQLModel]
    get: Callable[[Session, int], SQLModel]
    create: Callable[[Session, SQLModel], SQLModel]
    update: Callable[[Session, int, SQLModel], SQLModel]


INSTITUTION = _Form(
    key="inst",
    anchor="institutions",
    model=InstitutionCreate,
    get=lambda session, id_: directory.get_institution(session=session, institution_id=id_),
    create=lambda session, data: directory.create_institution(session=session, data=data),
    update=lambda session, id_, data: directory.update_institution(session=session, institution_id=id_, data=data),
)
PRACTITIONER = _Form(
    key="pr",
    anchor="practitioners",
    model=PractitionerCreate,
    get=lambda session, id_: directory.get_practitioner(session=session, practitioner_id=id_),
    create=lambda session, data: directory.create_practitioner(session=session, data=data),
    update=lambda session, id_, data: directory.update_practitioner(session=session, practitioner_id=id_, data=data),
)


def _edit(request: Request, session, spec: _Form, object_id: int):
    row = spec.get(session, object_id)
    return _page(request, session, values={spec.key: row.model_dump()}, editing=(spec.key, row.id))


def _save(request: Request, session, form: dict[str, str], spec: _Form, object_id: int | None = None):
    """Create (no ``object_id``) or update from the form; the page again with the errors at their fields."""
    if object_id is not None:
        spec.get(session, object_id)  # an unknown id is a 404 before the form is read
    # An unticked checkbox sends nothing at all.
    data, errors = parse_form(spec.model, {**form, "active": form.get("active", "false")})
    if errors:
        return _page(
            request,
            session,
            errors={f"{spec.key}.{k}": v for k, v in errors.items()},
            values={spec.key: form},
            editing=(spec.key, object_id) if object_id is not None else None,
            status_code=422,
        )
    if object_id is None:
        spec.create(session, data)
    else:
        spec.update(session, object_id, data)
    return RedirectResponse(f"/staff/directory#{spec.anchor}", status_code=303)


@router.post("/institutions")
def create_institution(request: Request, session: SessionDep, form: FormData):
    return _save(request, session, form, INSTITUTION)


@router.get("/institutions/{institution_id}")
def edit_institution(institution_id: IdPath, request: Request, session: SessionDep):
    return _edit(request, session, INSTITUTION, institution_id)


@router.post("/institutions/{institution_id}")
def update_institution(institution_id: IdPath, request: Request, session: SessionDep, form: FormData):
    return _save(request, session, form, INSTITUTION, institution_id)


@router.post("/practitioners")
def create_practitioner(request: Request, session: SessionDep, form: FormData):
    return _save(request, session, form, PRACTITIONER)


@router.get("/practitioners/{practitioner_id}")
def edit_practitioner(practitioner_id: IdPath, request: Request, session: SessionDep):
    return _edit(request, session, PRACTITIONER, practitioner_id)


@router.post("/practitioners/{practitioner_id}")
def update_practitioner(practitioner_id: IdPath, request: Request, session: SessionDep, form: FormData):
    return _save(request, session, form, PRACTITIONER, practitioner_id)
