"""Sign-in for the web UI (cookie session) and the API (OAuth2 password → bearer token)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import pending, totp, web
from app.auth import service as auth
from app.auth.models import Role, Token, User, UserPublic
from app.core import ratelimit
from app.core.config import get_settings
from app.core.deps import SESSION_COOKIE, CurrentUser, EngineDep, PasswordChangeRequired, SessionDep, bearer_token
from app.core.errors import AuthFailed
from app.core.i18n import LANGUAGES
from app.core.templating import render
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


def _audit_sign_in(engine, request: Request, *, username: str, user: User | None, ok: bool, channel: str) -> None:
    web.audit_auth(engine, request, action="auth.login" if ok else "auth.login_failed", user=user, username=username,
                   outcome="ok" if ok else "refused", purpose=channel)


# Messages the sign-in page shows after being sent back to it (fixed texts, never from the URL).
NOTICES = {
    "expired": "時間切れです。もう一度ユーザー名とパスワードからログインしてください",
    "signed_out": "すべての端末からログアウトしました",
    "password": "パスワードを変更しました。すべての端末からログアウトしたので、新しいパスワードでログインしてください",
    "reset": "2段階認証をリセットしました。次のログインで、認証アプリを設定し直してください",
}


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None, notice: str | None = None):
    return render(request, "auth/login.html", next=web.safe_next(next) or "", error=None, username="",
                  notice=NOTICES.get(notice or ""))


@router.post("/login", include_in_schema=False, dependencies=[Depends(ratelimit.sign_in)])
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
        return render(request, "auth/login.html", status_code=401, next=web.safe_next(next) or "", error=exc.translated(), username=username)
    target = web.safe_next(next) or web.home_of(user)
    if auth.needs_second_step(user):
        # Password right; the session opens only after the code (or the authenticator's set-up).
        stage = "code" if totp.is_enabled(user) else "enrol"
        web.audit_auth(engine, request, action="auth.login", user=user, outcome="pending", purpose=f"web (password; {stage} next)")
        response = web.redirect(f"/login/{stage}")
        pending.issue(response, request, user=user, stage=stage, next=target)
        return response
    _audit_sign_in(engine, request, username=user.username, user=user, ok=True, channel="web")
    # A new session on every sign-in: a cookie planted before sign-in is never promoted.
    return web.open_session(web.redirect(target), request, session=session, user=user)


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
    target = web.safe_next(next) or web.safe_next(request.headers.get("referer", "").split(str(request.base_url).rstrip("/"), 1)[-1]) or "/"
    response = RedirectResponse(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/", include_in_schema=False)
def home(user: CurrentUser):
    return RedirectResponse(web.home_of(user), status_code=303)


@router.post("/api/v1/auth/token", response_model=Token, description=TOKEN_DESCRIPTION, dependencies=[Depends(ratelimit.sign_in)])
def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    engine: EngineDep,
    totp_code: Annotated[str, Form(alias="totp", max_length=64, description="6-digit authenticator code or a recovery code (second factor)")] = "",
    new_password: Annotated[str, Form(max_length=256, description="the password chosen to replace an initial one")] = "",
    new_password2: Annotated[str, Form(max_length=256, description="the same again")] = "",
) -> Token:
    try:
        user = auth.authenticate(session=session, username=form.username, password=form.password)
    except AuthFailed:
        _audit_sign_in(engine, request, username=form.username, user=auth.get_user(session=session, username=form.username.strip()), ok=False, channel="api")
        raise
    if auth.needs_second_step(user):
        _check_api_code(engine, request, session=session, user=user, code=totp_code)
    device, hours = None, get_settings().api_token_hours
    if Role(user.role) == Role.paramedic:
        # Crews sign in only on an enrolled device; the session is bound to it and ends with the shift.
        try:
            device = devices.by_token(session=session, token=request.headers.get(DEVICE_HEADER))
        except devices.DeviceRefused:
            _audit_sign_in(engine, request, username=user.username, user=user, ok=False, channel="api (device)")
            raise
        hours = get_settings().shift_hours
    if user.must_change_password:
        if not new_password:
            raise PasswordChangeRequired()
        auth.change_password(session=session, user=user, current=form.password, new=new_password, new2=new_password2)
        web.audit_auth(engine, request, action="auth.password_changed", user=user, purpose="initial password (api)")
    _audit_sign_in(engine, request, username=user.username, user=user, ok=True, channel="api")
    token, record = auth.start_session(session=session, user=user, kind="api", user_agent=request.headers.get("user-agent", ""),
                                       device_id=device.id if device else None, hours=hours)
    return Token(access_token=token, expires_in=hours * 3600)


def _check_api_code(engine, request: Request, *, session, user: User, code: str) -> None:
    """The API's second step, in the same request: the ``totp`` field."""
    if not totp.is_enabled(user):
        web.audit_auth(engine, request, action="auth.2fa_failed", user=user, outcome="refused", purpose="api (not enrolled)")
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
