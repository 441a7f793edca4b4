"""Sign-in for the web UI: the password step (the second step is ``second_step``), sign-out, language, home."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from app.auth import pending, totp, web
from app.auth import service as auth
from app.auth.deps import SESSION_COOKIE, CurrentUser
from app.core import ratelimit
from app.core.deps import EngineDep, SessionDep
from app.core.errors import AuthFailed
from app.core.i18n import LANGUAGES
from app.core.templating import render

router = APIRouter(include_in_schema=False)


# Messages the sign-in page shows after being sent back to it (fixed texts, never from the URL).
NOTICES = {
    "expired": "時間切れです。もう一度ユーザー名とパスワードからログインしてください",
    "signed_out": "すべての端末からログアウトしました",
    "password": "パスワードを変更しました。すべての端末からログアウトしたので、新しいパスワードでログインしてください",
    "reset": "2段階認証をリセットしました。次のログインで、認証アプリを設定し直してください",
}


@router.get("/login")
def login_page(request: Request, next: str | None = None, notice: str | None = None):
    return render(
        request,
        "auth/login.html",
        next=web.safe_next(next) or "",
        error=None,
        username="",
        notice=NOTICES.get(notice or ""),
    )


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
        web.audit_sign_in(
            engine,
            request,
            username=username,
            user=auth.get_user(session=session, username=username.strip()),
            ok=False,
            channel="web",
        )
        return render(
            request,
            "auth/login.html",
            status_code=401,
            next=web.safe_next(next) or "",
            error=exc.translated(),
            username=username,
        )
    target = web.safe_next(next) or web.home_of(user)
    if auth.needs_second_step(user):
        # Password right; the session opens only after the code (or the authenticator's set-up).
        stage = "code" if totp.is_enabled(user) else "enrol"
        web.audit_auth(
            engine, request, action="auth.login", user=user, outcome="pending", purpose=f"web (password; {stage} next)"
        )
        response = web.redirect(f"/login/{stage}")
        pending.issue(response, request, user=user, stage=stage, next=target)
        return response
    web.audit_sign_in(engine, request, username=user.username, user=user, ok=True, channel="web")
    # A new session on every sign-in: a cookie planted before sign-in is never promoted.
    return web.open_session(web.redirect(target), request, session=session, user=user)


@router.post("/logout")
def logout(request: Request, session: SessionDep):
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        auth.end_session(session=session, token=token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def set_language(code: str, request: Request, next: str | None = None):
    target = (
        web.safe_next(next)
        or web.safe_next(request.headers.get("referer", "").split(str(request.base_url).rstrip("/"), 1)[-1])
        or "/"
    )
    response = RedirectResponse(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/")
def home(user: CurrentUser):
    return RedirectResponse(web.home_of(user), status_code=303)
