"""Admin UI for network clients: register an institution's system (the secret is shown once), disable one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.auth.access_log import record_access
from app.auth.deps import AdminUser, require_roles
from app.auth.models import Role
from app.core.deps import EngineDep, FormData, SessionDep
from app.core.errors import Invalid
from app.core.templating import render
from app.directory import service as directory
from app.network import clients

router = APIRouter(prefix="/admin/network", include_in_schema=False, dependencies=[Depends(require_roles(Role.admin))])


def _page(request: Request, session, *, created=None, error=None, status_code=200):
    return render(
        request,
        "admin/network.html",
        status_code=status_code,
        section="network",
        clients=clients.list_clients(session=session),
        institutions=directory.list_institutions(session=session, active_only=True),
        created=created,
        error=error,
    )


@router.get("")
def index(request: Request, session: SessionDep):
    return _page(request, session)


@router.post("")
def create(request: Request, session: SessionDep, engine: EngineDep, user: AdminUser, form: FormData):
    try:
        institution_id = int(form.get("institution_id", ""))
        client, secret = clients.create(
            session=session,
            institution_id=institution_id,
            created_by=user.display_name or user.username,
            scopes=form.get("scopes", "") or clients.DEFAULT_SCOPES,
        )
    except ValueError:
        return _page(request, session, error="医療機関を選んでください", status_code=422)
    except Invalid as exc:
        return _page(request, session, error=exc.translated(), status_code=422)
    record_access(
        engine=engine, request=request, user=user, action="network.add_client", fields=client.client_id, purpose="admin"
    )
    return _page(request, session, created=(client, secret), status_code=201)


@router.post("/disable")
def disable(request: Request, session: SessionDep, engine: EngineDep, user: AdminUser, form: FormData):
    client_id = form.get("client_id", "")
    try:
        clients.set_active(session=session, client_id=client_id, active=False)
    except Invalid as exc:
        return _page(request, session, error=exc.translated(), status_code=404)
    record_access(
        engine=engine,
        request=request,
        user=user,
        action="network.disable_client",
        fields=client_id[:40],
        purpose="admin",
    )
    return RedirectResponse("/admin/network", status_code=303)
