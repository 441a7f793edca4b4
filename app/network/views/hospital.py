"""The receiving hospital's dashboard: patients a crew is bringing in, live (htmx polling every 5 s).

Emergency-department staff sign in as role doctor with ``institution_id`` set to their hospital.
Each patient's summary is audited once per viewer and transport (not on every poll); a patient
without consent is shown as an emergency access (APPI 27-1-2), flagged for later review.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.access_log import record_access
from app.auth.deps import CurrentUser, require_roles
from app.auth.models import Role
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.templating import is_htmx, render
from app.directory.models import Institution
from app.network import handoff
from app.network import service as network
from app.persons.models import Person
from app.scans import service as scans

router = APIRouter(prefix="/hospital", include_in_schema=False, dependencies=[Depends(require_roles(Role.doctor))])


def _seen(session, user_id: int, transport_id: int) -> bool:
    return (
        session.exec(
            select(AuditEvent.id).where(
                AuditEvent.action == "handoff.view",
                AuditEvent.actor_user_id == user_id,
                AuditEvent.fields == f"transport {transport_id}",
            )
        ).first()
        is not None
    )


def _incoming(request: Request, session, engine, user) -> list[dict]:
    if user.institution_id is None:
        return []
    out = []
    for t in network.incoming(session=session, institution_id=user.institution_id):
        person = session.get(Person, t.person_id)
        summary = scans.summarize(session=session, person=person)
        if not _seen(session, user.id, t.id):
            record_access(
                engine=engine,
                request=request,
                user=user,
                action="handoff.view",
                person=person,
                fields=f"transport {t.id}",
                purpose="handoff",
                incident=t.incident,
                emergency=not summary.consent_in_force,
            )
        out.append({"transport": t, "summary": summary})
    return out


@router.get("/")
def dashboard(request: Request, session: SessionDep, engine: EngineDep, user: CurrentUser):
    institution = session.get(Institution, user.institution_id) if user.institution_id else None
    template = "hospital/_partials/incoming.html" if is_htmx(request) else "hospital/dashboard.html"
    return render(
        request,
        template,
        section="hospital",
        institution=institution,
        incoming=_incoming(request, session, engine, user),
    )


@router.post("/handoffs/{audit_id}/acknowledge")
def acknowledge(audit_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: CurrentUser):
    transport = handoff.acknowledge(
        session=session, audit_id=audit_id, institution_id=user.institution_id, by=user.display_name or user.username
    )
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="handoff.acknowledge",
        person=session.get(Person, transport.person_id),
        fields=f"transport {transport.id}",
        purpose="handoff",
        incident=transport.incident,
    )
    if is_htmx(request):
        return dashboard(request, session, engine, user)
    return RedirectResponse("/hospital/", status_code=303)
