"""The account page: password, two-factor sign-in, recovery codes, passkeys, signing out everywhere.

Changing what protects the account asks for proof again: the current password to change it,
a current code (authenticator or recovery code) to make new recovery codes or to reset the
authenticator. A password change and a reset end every session of the account, this one too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from app.auth import passkeys, pending, totp, web
from app.auth import service as auth
from app.auth.deps import SESSION_COOKIE, CurrentUser
from app.auth.models import Role, User
from app.auth.views.second_step import confirm, enrol_page, recovery_codes_page
from app.core import ratelimit
from app.core.deps import EngineDep, IdPath, SessionDep
from app.core.errors import AuthFailed, Forbidden, Invalid
from app.core.templating import render

router = APIRouter(prefix="/account", include_in_schema=False)
Code = Annotated[str, Form(max_length=64)]
Secret = Annotated[str, Form(max_length=1000)]
# Crews' second factor is their enrolled device; network clients never use the web.
NO_AUTHENTICATOR = frozenset({Role.paramedic, Role.network})


def _page(request: Request, session, user: User, *, errors=None, status_code: int = 200, **extra) -> Response:
    enabled = totp.is_enabled(user)
    return render(
        request,
        "auth/account.html",
        status_code=status_code,
        account=user,
        totp_enabled=enabled,
        can_enrol=not enabled and Role(user.role) not in NO_AUTHENTICATOR,
        passkeys=passkeys.list_for(session=session, user=user) if enabled else [],
        max_passkeys=passkeys.MAX_PER_USER,
        remaining=totp.remaining_recovery_codes(session=session, user=user) if enabled else 0,
        low=totp.RECOVERY_LOW,
        errors=errors or {},
        **extra,
    )


def _signed_out(target: str) -> Response:
    response = web.redirect(target)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("")
def account(request: Request, session: SessionDep, user: CurrentUser, recovery: bool = False, passkey: str = ""):
    return _page(request, session, user, recovery_used=recovery, passkey_notice=passkey)


@router.post("/signout-all")
def signout_all(request: Request, session: SessionDep, engine: EngineDep, user: CurrentUser):
    ended = auth.end_all_sessions(session=session, user_id=user.id)
    web.audit_auth(engine, request, action="auth.signout_all", user=user, purpose=f"account page ({ended} sessions)")
    return _signed_out("/login?notice=signed_out")


@router.get("/password")
def password_page(request: Request, user: CurrentUser):
    return render(request, "auth/password.html", errors={}, required=user.must_change_password)


@router.post("/password", dependencies=[Depends(ratelimit.sign_in)])
def change_password(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    user: CurrentUser,
    current: Secret = "",
    new: Secret = "",
    new2: Secret = "",
):
    try:
        ended = auth.change_password(session=session, user=user, current=current, new=new, new2=new2)
    except Invalid as exc:
        field = "new" if exc.field in (None, "password") else exc.field  # the rules name it "password"
        return render(
            request,
            "auth/password.html",
            status_code=422,
            errors={field: exc.translated()},
            required=user.must_change_password,
        )
    web.audit_auth(engine, request, action="auth.password_changed", user=user)
    web.audit_auth(engine, request, action="auth.signout_all", user=user, purpose=f"password change ({ended} sessions)")
    return _signed_out("/login?notice=password")


@router.get("/two-factor")
def enrol_start(request: Request, session: SessionDep, user: CurrentUser):
    if Role(user.role) in NO_AUTHENTICATOR or totp.is_enabled(user):
        return web.redirect("/account")
    return enrol_page(request, user=user, action="/account/two-factor")


@router.post("/two-factor", dependencies=[Depends(ratelimit.sign_in)])
def enrol(request: Request, session: SessionDep, engine: EngineDep, user: CurrentUser, code: Code = ""):
    if Role(user.role) in NO_AUTHENTICATOR or totp.is_enabled(user):
        return web.redirect("/account")
    codes, refused = confirm(
        request, session, engine, user=user, code=code, action="/account/two-factor", purpose="account page"
    )
    if codes is None:
        return refused or web.redirect("/account/two-factor")  # the set-up page timed out: a new one
    response = recovery_codes_page(request, codes=codes, next="/account")
    pending.clear_enrolment(response, path="/account/two-factor")
    return response


def _prove(request: Request, session, engine, user: User, code: str, form: str) -> Response | None:
    """None when ``code`` is a valid current code; otherwise the page with the (counted) refusal."""
    if not totp.is_enabled(user):
        return web.redirect("/account")
    try:
        used = totp.verify(session=session, user=user, code=code)
    except AuthFailed as exc:
        web.audit_auth(
            engine, request, action="auth.2fa_failed", user=user, outcome="refused", purpose=f"account ({form})"
        )
        # 422, not 401: the session is fine, the form's code is not (and it still counts toward lock-out).
        return _page(request, session, user, errors={form: exc.translated()}, status_code=422)
    if used == "recovery":
        web.audit_auth(engine, request, action="auth.recovery_code_used", user=user, purpose=f"account ({form})")
    return None


@router.post("/recovery-codes", dependencies=[Depends(ratelimit.sign_in)])
def regenerate(request: Request, session: SessionDep, engine: EngineDep, user: CurrentUser, code: Code = ""):
    refused = _prove(request, session, engine, user, code, "regenerate")
    if refused is not None:
        return refused
    codes = totp.regenerate_recovery_codes(session=session, user=user)
    web.audit_auth(engine, request, action="auth.recovery_codes_new", user=user)
    return recovery_codes_page(request, codes=codes, next="/account")


@router.post("/two-factor/reset", dependencies=[Depends(ratelimit.sign_in)])
def reset(request: Request, session: SessionDep, engine: EngineDep, user: CurrentUser, code: Code = ""):
    refused = _prove(request, session, engine, user, code, "reset")
    if refused is not None:
        return refused
    ended = totp.reset(session=session, user=user)  # passkeys go with it (app.auth.passkeys)
    web.audit_auth(engine, request, action="auth.2fa_reset", user=user, purpose="account page")
    web.audit_auth(
        engine, request, action="auth.signout_all", user=user, purpose=f"second factor reset ({ended} sessions)"
    )
    return _signed_out("/login?notice=reset")


# --- passkeys: added once the authenticator is set up (so recovery codes exist), from this page's script

PASSKEYS = "/account/passkeys"


class PasskeyRegistration(BaseModel):
    name: str = Field(default="", max_length=200)
    credential: dict


def passkey_holder(user: CurrentUser) -> User:
    """A user who may add passkeys: one with the authenticator set up (crews and network clients never)."""
    if Role(user.role) in NO_AUTHENTICATOR or not totp.is_enabled(user):
        raise Forbidden("パスキーは、認証アプリによる2段階認証を設定してから追加できます")
    return user


PasskeyHolder = Annotated[User, Depends(passkey_holder)]


@router.post("/passkeys/options")  # hands out a challenge only; the answer below is rate-limited
def passkey_options(request: Request, session: SessionDep, user: PasskeyHolder):
    """What the browser needs to create a passkey (JSON), its challenge kept for the next call."""
    return passkeys.registration_options(request, session=session, user=user, path=PASSKEYS)


@router.post("/passkeys", status_code=201, dependencies=[Depends(ratelimit.sign_in)])
def add_passkey(
    request: Request, body: PasskeyRegistration, session: SessionDep, engine: EngineDep, user: PasskeyHolder
):
    passkey = passkeys.register(request, session=session, user=user, credential=body.credential, name=body.name)
    web.audit_auth(engine, request, action="auth.passkey_added", user=user, purpose=f"account page ({passkey.name})")
    response = JSONResponse({"id": passkey.id, "name": passkey.name}, status_code=201)
    passkeys.forget_challenge(response, path=PASSKEYS)
    return response


@router.post("/passkeys/{passkey_id}/delete")
def delete_passkey(passkey_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: CurrentUser):
    removed = passkeys.remove(session=session, user=user, passkey_id=passkey_id)
    web.audit_auth(engine, request, action="auth.passkey_removed", user=user, purpose=f"account page ({removed.name})")
    return web.redirect("/account?passkey=removed#passkeys")
