"""Admin web UI for accounts: list, add (initial password shown once), stop and restart, issue a new
initial password for a forgotten one, reset the second factor.

Every change is in the audit log under ``admin.user_*`` (``auth.2fa_reset`` for a reset), with
the account it concerns.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.audit import service as audit
from app.auth import accounts, totp
from app.auth.deps import AdminUser, require_roles
from app.auth.models import Role, User
from app.auth.web import client_ip, redirect
from app.core.deps import EngineDep, FormData, IdPath, SessionDep
from app.core.errors import DomainError
from app.core.forms import parse_form
from app.core.templating import render

router = APIRouter(prefix="/admin/users", include_in_schema=False, dependencies=[Depends(require_roles(Role.admin))])


def _page(request: Request, session, *, errors=None, values=None, status_code=200, notice: str = "", problem: str = ""):
    return render(
        request,
        "admin/users.html",
        status_code=status_code,
        section="users",
        accounts=accounts.list_accounts(session=session),
        roles=accounts.ROLES,
        practitioners=accounts.practitioners(session=session),
        totp_enabled=totp.is_enabled,
        errors=errors or {},
        values=values or {"role": Role.staff.value},
        notice=notice,
        problem=problem,
    )


def _audit(engine, request: Request, by: User, action: str, account: User) -> None:
    audit.append(
        engine=engine,
        action=action,
        actor_user_id=by.id,
        actor_username=by.username,
        actor_role=Role(by.role).value,
        organisation=by.organisation,
        fields=f"user {account.id}",
        purpose=f"admin page ({account.username})",
        ip=client_ip(request),
        device=request.headers.get("user-agent", "")[:100],
    )


@router.get("")
def index(request: Request, session: SessionDep, done: str = ""):
    return _page(request, session, notice=done)


@router.post("")
def create(request: Request, session: SessionDep, engine: EngineDep, user: AdminUser, form: FormData):
    data, errors = parse_form(accounts.AccountCreate, form)
    if data is not None:
        try:
            account, password = accounts.create(session=session, data=data)
        except DomainError as exc:
            errors = {getattr(exc, "field", None) or "username": exc.translated()}
    if errors:
        return _page(request, session, errors=errors, values=form, status_code=422)
    _audit(engine, request, user, "admin.user_create", account)
    return _show_password(request, account, password, reissued=False)


def _show_password(request: Request, account: User, password: str, *, reissued: bool):
    # The password is in this response only: it is stored as an Argon2 hash and never shown again.
    response = render(
        request, "admin/user_created.html", section="users", account=account, password=password, reissued=reissued
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/{user_id}/password")
def reissue_password(user_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: AdminUser):
    account = accounts.get(session=session, user_id=user_id)
    try:
        password = accounts.reissue_password(session=session, user=account, by=user)
    except DomainError as exc:
        return _page(request, session, problem=exc.translated(), status_code=422)
    _audit(engine, request, user, "admin.user_password_reset", account)
    return _show_password(request, account, password, reissued=True)


@router.post("/{user_id}/deactivate")
def deactivate(user_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: AdminUser):
    account = accounts.set_active(
        session=session, user=accounts.get(session=session, user_id=user_id), active=False, by=user
    )
    _audit(engine, request, user, "admin.user_deactivate", account)
    return redirect("/admin/users?done=deactivated")


@router.post("/{user_id}/activate")
def activate(user_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: AdminUser):
    account = accounts.set_active(
        session=session, user=accounts.get(session=session, user_id=user_id), active=True, by=user
    )
    _audit(engine, request, user, "admin.user_activate", account)
    return redirect("/admin/users?done=activated")


@router.post("/{user_id}/reset-2fa")
def reset_second_factor(user_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: AdminUser):
    account = accounts.get(session=session, user_id=user_id)
    totp.reset(session=session, user=account)  # authenticator, recovery codes, passkeys; sessions end
    _audit(engine, request, user, "auth.2fa_reset", account)
    return redirect("/admin/users?done=reset")
