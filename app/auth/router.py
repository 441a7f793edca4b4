"""Sign-in for the web UI (cookie session) and the API (OAuth2 password → bearer token)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.audit import service as audit
from app.auth import service as auth
from app.auth.models import Role, Token, User, UserPublic
from app.core.config import get_settings
from app.core.deps import SESSION_COOKIE, CurrentUser, EngineDep, SessionDep, bearer_token
from app.core.errors import AuthFailed
from app.core.i18n import LANGUAGES
from app.core.templating import render
from app.devices import service as devices
from app.devices.deps import DEVICE_HEADER

router = APIRouter(tags=["auth"])

HOME_BY_ROLE = {Role.admin: "/staff/", Role.staff: "/staff/", Role.doctor: "/doctor/", Role.resident: "/me/"}


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so the sign-in page cannot be used to redirect elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _audit_sign_in(engine, request: Request, *, username: str, user: User | None, ok: bool, channel: str) -> None:
    audit.append(
        engine=engine,
        action="auth.login" if ok else "auth.login_failed",
        actor_user_id=user.id if user else None,
        actor_username=username[:64],
        actor_role=Role(user.role).value if user else "",
        organisation=user.organisation if user else "",
        purpose=channel,
        outcome="ok" if ok else "refused",
        ip=_client_ip(request),
    )


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None):
    return render(request, "auth/login.html", next=_safe_next(next) or "", error=None, username="")


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    try:
        user = auth.authenticate(session=session, username=username, password=password)
    except AuthFailed as exc:
        _audit_sign_in(engine, request, username=username, user=auth.get_user(session=session, username=username.strip()), ok=False, channel="web")
        return render(request, "auth/login.html", status_code=401, next=_safe_next(next) or "", error=exc.translated(), username=username)
    _audit_sign_in(engine, request, username=user.username, user=user, ok=True, channel="web")
    # A new session on every sign-in: a cookie planted before sign-in is never promoted.
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        auth.end_session(session=session, token=old)
    token, record = auth.start_session(session=session, user=user, kind="web", user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse(_safe_next(next) or HOME_BY_ROLE.get(Role(user.role), "/account"), status_code=303)
    settings = get_settings()
    # Secure whenever the browser reached us over TLS (uvicorn trusts the proxy's forwarded scheme).
    response.set_cookie(
        SESSION_COOKIE, token, max_age=settings.session_hours * 3600, httponly=True,
        secure=settings.cookies_secure or request.url.scheme == "https", samesite="lax", path="/",
    )
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep):
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.end_session(session=session, token=token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}", include_in_schema=False)
def set_language(code: str, request: Request, next: str | None = None):
    target = _safe_next(next) or _safe_next(request.headers.get("referer", "").split(str(request.base_url).rstrip("/"), 1)[-1]) or "/"
    response = RedirectResponse(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/", include_in_schema=False)
def home(user: CurrentUser):
    return RedirectResponse(HOME_BY_ROLE.get(Role(user.role), "/account"), status_code=303)


@router.get("/account", include_in_schema=False)
def account(request: Request, user: CurrentUser):
    return render(request, "auth/account.html", account=user)


@router.post("/api/v1/auth/token", response_model=Token)
def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    engine: EngineDep,
) -> Token:
    """OAuth2 password grant: exchange username and password for a bearer token."""
    try:
        user = auth.authenticate(session=session, username=form.username, password=form.password)
    except AuthFailed:
        _audit_sign_in(engine, request, username=form.username, user=auth.get_user(session=session, username=form.username.strip()), ok=False, channel="api")
        raise
    device, hours = None, get_settings().api_token_hours
    if Role(user.role) == Role.paramedic:
        # Crews sign in only on an enrolled device; the session is bound to it and ends with the shift.
        try:
            device = devices.by_token(session=session, token=request.headers.get(DEVICE_HEADER))
        except devices.DeviceRefused:
            _audit_sign_in(engine, request, username=user.username, user=user, ok=False, channel="api (device)")
            raise
        hours = get_settings().shift_hours
    _audit_sign_in(engine, request, username=user.username, user=user, ok=True, channel="api")
    token, record = auth.start_session(session=session, user=user, kind="api", user_agent=request.headers.get("user-agent", ""),
                                       device_id=device.id if device else None, hours=hours)
    return Token(access_token=token, expires_in=hours * 3600)


@router.post("/api/v1/auth/logout", status_code=204)
def revoke_token(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """End the bearer session of this request (sign-out in the EMS app); a cookie session is left to /logout."""
    token = bearer_token(request)
    if token:
        auth.end_session(session=session, token=token)
    return Response(status_code=204)


@router.get("/api/v1/me", response_model=UserPublic)
def me(user: CurrentUser) -> User:
    """The signed-in user."""
    return user
