"""Staff web UI for the bulk import: upload, follow the run, read every problem by line."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse

from app.auth.access_log import record_access
from app.auth.deps import StaffUser, require_roles
from app.auth.models import Role
from app.core.config import ROOT_DIR, get_settings
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.errors import NotFound
from app.core.i18n import gettext as _
from app.core.models import Actor, Source
from app.core.templating import render
from app.imports import service as imports
from app.imports.columns import COLUMNS
from app.imports.parser import FileRejected

router = APIRouter(
    prefix="/staff/import", include_in_schema=False, dependencies=[Depends(require_roles(Role.staff, Role.admin))]
)
EXAMPLE = ROOT_DIR / "docs" / "examples" / "households-example.csv"


def _index(request: Request, session, *, error: str = "", status_code: int = 200):
    return render(
        request,
        "staff/import.html",
        status_code=status_code,
        section="import",
        columns=COLUMNS,
        error=error,
        jobs=imports.list_jobs(session=session),
        max_mb=get_settings().max_upload_bytes // (1024 * 1024),
    )


@router.get("")
def index(request: Request, session: SessionDep):
    return _index(request, session)


@router.post("")
def upload(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    user: StaffUser,
    background: BackgroundTasks,
    file: Annotated[UploadFile | None, File()] = None,
    dry_run: Annotated[str, Form()] = "",
):
    if file is None or not file.filename:
        return _index(request, session, error=_("CSVファイルを選んでください"), status_code=422)
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="import.households",
        fields=f"dry_run={bool(dry_run)}",
        purpose="registry",
    )
    # Changes are recorded as coming from the import, made by the signed-in clerk.
    actor = Actor(user_id=user.id, name=user.display_name or user.username, source=Source.imported, role=user.role)
    job = imports.create_job(engine=engine, actor=actor, filename=file.filename, dry_run=bool(dry_run))
    try:
        imports.store_upload(job_id=job.id, source=file.file)
    except FileRejected as exc:
        imports.reject(engine=engine, job_id=job.id, problem=exc.problem)
    else:
        # Runs after the response is sent, so the clerk sees the job page (and its progress) at once.
        background.add_task(imports.run_upload, engine=engine, job_id=job.id, actor=actor)
    return RedirectResponse(f"/staff/import/{job.id}", status_code=303)


@router.get("/example.csv")
def example():
    if not EXAMPLE.is_file():  # docs/ is not shipped in a wheel, only in the repository
        raise NotFound("ページが見つかりません")
    return FileResponse(EXAMPLE, media_type="text/csv; charset=utf-8", filename="households-example.csv")


@router.get("/{job_id}")
def show(job_id: IdPath, request: Request, session: SessionDep):
    job = imports.get_job(session=session, job_id=job_id)
    return render(request, "staff/import_job.html", section="import", job=job)


@router.get("/{job_id}/progress")
def progress(job_id: IdPath, request: Request, session: SessionDep):
    job = imports.get_job(session=session, job_id=job_id)
    return render(request, "staff/_partials/import_progress.html", job=job)
