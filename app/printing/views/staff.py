"""Staff web UI for printing: a kit, a sheet or a card at once; batches as background jobs; the glyph report."""

from __future__ import annotations

import io
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from app.auth import service as auth
from app.auth.access_log import record_access
from app.auth.deps import StaffUser, require_roles
from app.auth.models import Role
from app.core.deps import EngineDep, FormData, IdPath, SessionDep
from app.core.templating import is_htmx, render
from app.households import service as households
from app.persons import service as persons
from app.printing import service as printing
from app.printing.glyphs import glyph_report

router = APIRouter(
    prefix="/staff/print", include_in_schema=False, dependencies=[Depends(require_roles(Role.staff, Role.admin))]
)


def _pdf(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"},
    )


def _print_now(kind: str, ids: list[int], *, request: Request, engine, user, layout: str = "cr80") -> bytes:
    buffer = io.BytesIO()
    printing.run(
        kind=kind,
        engine=engine,
        actor=auth.actor_of(user),
        audit=printing.web_audit(engine=engine, request=request, user=user),
        out=buffer,
        ids=ids,
        layout=layout,
    )
    return buffer.getvalue()


@router.post("/households/{household_id}/kit")
def print_kit(household_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: StaffUser):
    """The household's kit; issues a new resident access code and marks the kit printed."""
    households.get(session=session, household_id=household_id)
    data = _print_now("kits", [household_id], request=request, engine=engine, user=user)
    return _pdf(data, f"kit-{household_id}.pdf")


@router.post("/persons/{person_id}/sheet")
def print_sheet(person_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: StaffUser):
    persons.get(session=session, person_id=person_id)
    return _pdf(_print_now("sheets", [person_id], request=request, engine=engine, user=user), f"sheet-{person_id}.pdf")


@router.post("/persons/{person_id}/card")
def print_card(
    person_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: StaffUser, form: FormData
):
    persons.get(session=session, person_id=person_id)
    layout = form.get("layout", "cr80")
    data = _print_now("cards", [person_id], request=request, engine=engine, user=user, layout=layout)
    return _pdf(data, f"card-{person_id}-{layout}.pdf")


@router.get("")
def index(request: Request, session: SessionDep):
    return render(
        request,
        "staff/print.html",
        section="print",
        jobs=printing.list_jobs(),
        pending_kits=len(printing.household_ids(session=session, pending=True)),
        pending_cards=len(printing.person_ids(session=session, pending_cards=True)),
    )


@router.post("/jobs")
def start_job(request: Request, engine: EngineDep, user: StaffUser, form: FormData, background: BackgroundTasks):
    job = printing.create_job(
        kind=form.get("kind", ""), scope=form.get("scope", "pending"), layout=form.get("layout", "cr80"), user=user
    )
    # Runs after the response is sent: the clerk sees the job page and its progress at once.
    background.add_task(printing.run_job, engine=engine, job_id=job["id"], user=user)
    return RedirectResponse(f"/staff/print/jobs/{job['id']}", status_code=303)


@router.get("/jobs/{job_id}")
def show_job(job_id: IdPath, request: Request):
    job = printing.get_job(job_id=job_id)
    name = "staff/_partials/print_job.html" if is_htmx(request) else "staff/print_job.html"
    return render(request, name, section="print", job=job)


@router.get("/jobs/{job_id}/download")
def download(job_id: IdPath, request: Request, engine: EngineDep, user: StaffUser):
    path = printing.job_pdf(job_id=job_id)
    record_access(
        engine=engine, request=request, user=user, action="print.download", fields=f"job={job_id}", purpose="print"
    )
    return FileResponse(path, media_type="application/pdf", filename=f"print-job-{job_id}.pdf")


@router.get("/glyphs")
def glyphs(request: Request, session: SessionDep, engine: EngineDep, user: StaffUser):
    """Names and contacts with characters the print font lacks, and what prints instead."""
    problems = glyph_report(session=session)
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="print.glyphs",
        fields=f"results={len(problems)}",
        purpose="registry",
    )
    return render(request, "staff/print_glyphs.html", section="print", problems=problems)
