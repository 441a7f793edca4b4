"""Sign-in for the API (OAuth2 password → bearer token), its sign-out and the signed-in user.

The web UI's sign-in pages are in ``app.auth.views``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import service as auth
from app.auth import totp, web
from app.auth.deps import CurrentUser, PasswordChangeRequired
from app.auth.models import Role, Token, User, UserPublic
from app.core import ratelimit
from app.core.config import get_settings
from app.core.deps import EngineDep, SessionDep, bearer_token
from app.core.errors import AuthFailed
from app.devices import service as devices
from app.devices.deps import DEVICE_HEADER

router = APIRouter(tags=["auth"])

TOKEN_DESCRIPTION = """OAuth2 password grant: exchange username and password for a bearer token.

**Second factor.** Admins, staff and doctors, and any user who turned two-factor sign-in on,
must also send the form field `totp`: the current 6-digit code of their authenticator app, or
one of their single-use recovery codes. A missing or wrong code is refused with 401 and counts
toward the account's lock-out; a code is accepted once. A user who has not set up an
authenticator yet must first sign in on the web (`/login`), which walks them through it.
Crew members sign in on an enrolled device (header `X-Lifeline-Device`) instead.

**Initial password.** An account whose password an administrator issued (a new account, or a
forgotten password replaced) gets no token until its holder chooses a new one: the answer is 403
with `"code": "password_change_required"`. Send the form again with `new_password` and
`new_password2` (the same, by the password rules); the token then comes with the new password in
force."""


@router.post(
    "/api/v1/auth/token", response_model=Token, description=TOKEN_DESCRIPTION, dependencies=[Depends(ratelimit.sign_in)]
)
def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    engine: EngineDep,
    totp_code: Annotated[
        str,
        Form(alias="totp", max_length=64, description="6-digit authenticator code or a recovery code (second factor)"),
    ] = "",
    new_password: Annotated[
        str, Form(max_length=256, description="the password chosen to replace an initial one")
    ] = "",
    new_password2: Annotated[str, Form(max_length=256, description="the same again")] = "",
) -> Token:
    try:
        user = auth.authenticate(session=session, username=form.username, password=form.password)
    except AuthFailed:
        web.audit_sign_in(
            engine,
            request,
            username=form.username,
            user=auth.get_user(session=session, username=form.username.strip()),
            ok=False,
            channel="api",
        )
        raise
    if auth.needs_second_step(user):
        _check_api_code(engine, request, session=session, user=user, code=totp_code)
    device, hours = None, get_settings().api_token_hours
    if Role(user.role) == Role.paramedic:
        # Crews sign in only on an enrolled device; the session is bound to it and ends with the shift.
        try:
            device = devices.by_token(session=session, token=request.headers.get(DEVICE_HEADER))
        except devices.DeviceRefused:
            web.audit_sign_in(engine, request, username=user.username, user=user, ok=False, channel="api (device)")
            raise
        hours = get_settings().shift_hours
    # A crew member's records name the enrolled device, as their scans do; others keep the user agent.
    device_name = device.name if device else None
    if user.must_change_password:
        if not new_password:
            raise PasswordChangeRequired()
        auth.change_password(session=session, user=user, current=form.password, new=new_password, new2=new_password2)
        web.audit_auth(
            engine,
            request,
            action="auth.password_changed",
            user=user,
            purpose="initial password (api)",
            device=device_name,
        )
    web.audit_sign_in(engine, request, username=user.username, user=user, ok=True, channel="api", device=device_name)
    token, record = auth.start_session(
        session=session,
        user=user,
        kind="api",
        user_agent=request.headers.get("user-agent", ""),
        device_id=device.id if device else None,
        hours=hours,
    )
    return Token(access_token=token, expires_in=hours * 3600)


def _check_api_code(engine, request: Request, *, session, user: User, code: str) -> None:
    """The API's second step, in the same request: the ``totp`` field."""
    if not totp.is_enabled(user):
        web.audit_auth(
            engine, request, action="auth.2fa_failed", user=user, outcome="refused", purpose="api (not enrolled)"
        )
        raise AuthFailed("2段階認証が未設定です。先にブラウザで /login からログインして、認証アプリを設定してください")
    if not code.strip():
        web.audit_auth(engine, request, action="auth.2fa_failed", user=user, outcome="refused", purpose="api (no code)")
        raise AuthFailed("確認コード（totp）が必要です")
    try:
        used = totp.verify(session=session, user=user, code=code)
    except AuthFailed:
        web.audit_auth(engine, request, action="auth.2fa_failed", user=user, outcome="refused", purpose="api")
        raise
    if used == "recovery":
        web.audit_auth(engine, request, action="auth.recovery_code_used", user=user, purpose="api")
    auth.complete_sign_in(session=session, user=user)


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
