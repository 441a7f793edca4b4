"""The web sign-in's second step, after a correct password: the code (or a passkey), or setting up the authenticator.

Every role goes through the same two pages: staff, doctors and admins always, residents once
they turned two-factor sign-in on. The state between the steps is ``app.auth.pending``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse

from app.auth import passkeys, pending, totp, web
from app.core import ratelimit
from app.core.deps import EngineDep, SessionDep
from app.core.errors import AuthFailed, Invalid
from app.core.templating import render

router = APIRouter(prefix="/login", include_in_schema=False)
Code = Annotated[str, Form(max_length=64)]


def _expired():
    """Back to the password: the half-signed-in state is missing, stale or timed out."""
    response = web.redirect("/login?notice=expired")
    pending.clear(response)
    return response


def enrol_page(request, *, user, action: str, error: str | None = None, status_code: int = 200):
    """The authenticator set-up page (also from the account page), for the secret this browser holds or a new one."""
    secret = pending.enrolment_secret(request, user=user) or totp.new_secret()
    uri = totp.provisioning_uri(user=user, secret=secret)
    response = render(
        request,
        "auth/enrol.html",
        status_code=status_code,
        action=action,
        qr=totp.qr_data_uri(uri),
        secret=totp.grouped(secret),
        account_name=user.username,
        issuer=totp.ISSUER,
        error=error,
    )
    response.headers["Cache-Control"] = "no-store"
    pending.keep_enrolment(response, request, user=user, secret=secret, path=action)
    return response


def confirm(request, session, engine, *, user, code: str, action: str, purpose: str):
    """Check the first code against the set-up secret: the recovery codes, the page again, or None (start over)."""
    secret = pending.enrolment_secret(request, user=user)
    if secret is None:
        return None, None
    try:
        codes = totp.confirm_enrolment(session=session, user=user, secret=secret, code=code)
    except Invalid as exc:
        web.audit_auth(
            engine, request, action="auth.2fa_failed", user=user, outcome="refused", purpose=f"{purpose} (enrolment)"
        )
        return None, enrol_page(request, user=user, action=action, error=exc.translated(), status_code=422)
    web.audit_auth(engine, request, action="auth.2fa_enrolled", user=user, purpose=purpose)
    return codes, None


def recovery_codes_page(request, *, codes: list[str], next: str, status_code: int = 200):
    """The new recovery codes, shown this once."""
    response = render(request, "auth/recovery_codes.html", status_code=status_code, codes=codes, next=next)
    response.headers["Cache-Control"] = "no-store"
    return response


def _code_page(request: Request, session, user, *, error: str | None = None, status_code: int = 200):
    return render(
        request,
        "auth/code.html",
        status_code=status_code,
        error=error,
        has_passkey=passkeys.has_any(session=session, user=user),
    )


@router.get("/code")
def code_page(request: Request, session: SessionDep):
    state = pending.read(request, session=session, stage="code")
    if state is None:
        return _expired()
    return _code_page(request, session, state.user)


@router.post("/code", dependencies=[Depends(ratelimit.sign_in)])
def code(request: Request, session: SessionDep, engine: EngineDep, code: Code = ""):
    state = pending.read(request, session=session, stage="code")
    if state is None:
        return _expired()
    user = state.user
    try:
        used = totp.verify(session=session, user=user, code=code)
    except AuthFailed as exc:
        web.audit_auth(engine, request, action="auth.2fa_failed", user=user, outcome="refused")
        return _code_page(request, session, user, error=exc.translated(), status_code=401)
    target = state.next
    if used == "recovery":
        web.audit_auth(engine, request, action="auth.recovery_code_used", user=user)
        target = "/account?recovery=1"  # where the remaining codes and the reset are
    web.audit_auth(engine, request, action="auth.login", user=user, purpose=f"web ({used})")
    return web.open_session(web.redirect(target), request, session=session, user=user)


@router.get("/enrol")
def enrol_start(request: Request, session: SessionDep):
    state = pending.read(request, session=session, stage="enrol")
    if state is None:
        return _expired()
    return enrol_page(request, user=state.user, action="/login/enrol")


@router.post("/enrol", dependencies=[Depends(ratelimit.sign_in)])
def enrol(request: Request, session: SessionDep, engine: EngineDep, code: Code = ""):
    state = pending.read(request, session=session, stage="enrol")
    if state is None:
        return _expired()
    user = state.user
    codes, refused = confirm(request, session, engine, user=user, code=code, action="/login/enrol", purpose="web")
    if codes is None:
        return refused or _expired()
    web.audit_auth(engine, request, action="auth.login", user=user, purpose="web (totp, enrolled)")
    response = recovery_codes_page(request, codes=codes, next=state.next)
    pending.clear_enrolment(response, path="/login/enrol")
    return web.open_session(response, request, session=session, user=user)


# --- a passkey instead of the code (the page's script calls these with fetch) ---------------------

PASSKEY = "/login/passkey"


def _expired_json() -> JSONResponse:
    response = JSONResponse(
        {"detail": Invalid(passkeys.EXPIRED).translated(), "redirect": "/login?notice=expired"}, status_code=401
    )
    pending.clear(response)
    return response


@router.post("/passkey/options")  # hands out a challenge only; the answer below is rate-limited
def passkey_options(request: Request, session: SessionDep):
    state = pending.read(request, session=session, stage="code")
    if state is None:
        return _expired_json()
    return passkeys.authentication_options(request, session=session, user=state.user, path=PASSKEY)


@router.post("/passkey", dependencies=[Depends(ratelimit.sign_in)])
def passkey(request: Request, credential: dict, session: SessionDep, engine: EngineDep):
    state = pending.read(request, session=session, stage="code")
    if state is None:
        return _expired_json()
    user = state.user
    try:
        used = passkeys.authenticate(request, session=session, user=user, credential=credential)
    except AuthFailed as exc:
        web.audit_auth(engine, request, action="auth.2fa_failed", user=user, outcome="refused", purpose="web (passkey)")
        response = JSONResponse({"detail": exc.translated()}, status_code=401)
        passkeys.forget_challenge(response, path=PASSKEY)
        return response
    web.audit_auth(engine, request, action="auth.login", user=user, purpose=f"web (passkey: {used.name})")
    response = JSONResponse({"redirect": state.next})
    passkeys.forget_challenge(response, path=PASSKEY)
    return web.open_session(response, request, session=session, user=user)
