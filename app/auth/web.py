"""Pieces shared by the sign-in steps and the account page: safe redirects, auditing, the session cookie."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.audit import service as audit
from app.auth import pending
from app.auth import service as auth
from app.auth.deps import SESSION_COOKIE
from app.auth.models import Role, User
from app.core.config import get_settings

HOME_BY_ROLE = {Role.admin: "/staff/", Role.staff: "/staff/", Role.doctor: "/doctor/", Role.resident: "/me/"}


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so the sign-in page cannot be used to redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def home_of(user: User) -> str:
    return HOME_BY_ROLE.get(Role(user.role), "/account")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def audit_auth(
    engine,
    request: Request,
    *,
    action: str,
    user: User | None,
    username: str = "",
    outcome: str = "ok",
    purpose: str = "web",
    device: str | None = None,
) -> None:
    """Record a sign-in or account event. Never pass codes, secrets or passwords here.

    ``device`` names the enrolled EMS device a crew member signs in on (as their scans record it);
    otherwise the browser's user agent is recorded.
    """
    audit.append(
        engine=engine,
        action=action,
        actor_user_id=user.id if user else None,
        actor_username=(user.username if user else username)[:64],
        actor_role=Role(user.role).value if user else "",
        organisation=user.organisation if user else "",
        purpose=purpose,
        outcome=outcome,
        ip=client_ip(request),
        device=(device if device is not None else request.headers.get("user-agent", ""))[:100],
    )


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    settings = get_settings()
    # Secure whenever the browser reached us over TLS (uvicorn trusts the proxy's forwarded scheme).
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        secure=settings.cookies_secure or request.url.scheme == "https",
        samesite="lax",
        path="/",
    )


def open_session(response: Response, request: Request, *, session: Session, user: User) -> Response:
    """Every factor is checked: a new web session (never the one the browser came with) on ``response``."""
    auth.complete_sign_in(session=session, user=user)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        auth.end_session(session=session, token=old)
    token, _record = auth.start_session(
        session=session, user=user, kind="web", user_agent=request.headers.get("user-agent", "")
    )
    set_session_cookie(response, request, token)
    pending.clear(response)
    return response


def redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def audit_sign_in(
    engine, request: Request, *, username: str, user: User | None, ok: bool, channel: str, device: str | None = None
) -> None:
    audit_auth(
        engine,
        request,
        action="auth.login" if ok else "auth.login_failed",
        user=user,
        username=username,
        outcome="ok" if ok else "refused",
        purpose=channel,
        device=device,
    )
