"""Passkeys (WebAuthn): a second way through the second sign-in step, beside the authenticator code.

The MHLW guideline 6.0 asks for two factors; a passkey is one on its own device (something held,
unlocked by the device's PIN or fingerprint), so with the password it passes the second step as a
code would. It is added from the account page once the authenticator is set up (which brings the
recovery codes), and a reset of the second factor removes the passkeys too. The ceremonies are
checked by `webauthn` (py_webauthn); the browser side is @simplewebauthn/browser.

The challenge of a ceremony lives in a signed, short-lived cookie scoped to the path that
completes it, bound to the user and used once: nothing is stored before a ceremony succeeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlmodel import Session, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.auth import pending
from app.auth import service as auth
from app.auth.models import Passkey, User
from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.errors import AuthFailed, Invalid, NotFound

CHALLENGE_COOKIE = "lifeline_webauthn"
CHALLENGE_MAX_AGE = 5 * 60  # the browser's own prompt times out after 60 s (options "timeout")
MAX_PER_USER = 10
NAME_MAX = 60

REFUSED = "パスキーで確認できませんでした。もう一度お試しいただくか、確認コードを入力してください。"
NOT_ADDED = "パスキーを登録できませんでした。もう一度お試しください。"
EXPIRED = "時間切れです。もう一度お試しください。"
TOO_MANY = "登録できるパスキーは%(count)s個までです。使わないものを削除してください。"


@dataclass(frozen=True)
class RelyingParty:
    id: str  # the host name of LIFELINE_PUBLIC_URL: a passkey works only there
    origin: str
    name: str = "Tone Lifeline"


@lru_cache(maxsize=4)
def _relying_party(public_url: str) -> RelyingParty:
    parts = urlsplit(public_url)
    return RelyingParty(id=parts.hostname or "localhost", origin=f"{parts.scheme}://{parts.netloc}")


def relying_party() -> RelyingParty:
    return _relying_party(get_settings().public_url)


def list_for(*, session: Session, user: User) -> list[Passkey]:
    return list(
        session.exec(select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at, Passkey.id))
    )


def has_any(*, session: Session, user: User) -> bool:
    return session.exec(select(Passkey.id).where(Passkey.user_id == user.id).limit(1)).first() is not None


# --- the challenge cookie ----------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().signing_secret(), salt="lifeline.auth.webauthn")


def _keep_challenge(response: Response, request: Request, *, user: User, challenge: bytes, path: str) -> None:
    value = _serializer().dumps({"u": user.id, "c": bytes_to_base64url(challenge), "f": pending.fingerprint(user)})
    response.set_cookie(
        CHALLENGE_COOKIE,
        value,
        max_age=CHALLENGE_MAX_AGE,
        httponly=True,
        path=path,
        samesite="strict",
        secure=get_settings().cookies_secure or request.url.scheme == "https",
    )


def _challenge(request: Request, *, user: User) -> bytes:
    try:
        data = _serializer().loads(request.cookies.get(CHALLENGE_COOKIE, ""), max_age=CHALLENGE_MAX_AGE)
    except BadSignature:  # also missing or expired
        raise Invalid(EXPIRED) from None
    if not isinstance(data, dict) or data.get("u") != user.id or data.get("f") != pending.fingerprint(user):
        raise Invalid(EXPIRED)
    return base64url_to_bytes(str(data.get("c")))


def forget_challenge(response: Response, *, path: str) -> None:
    response.delete_cookie(CHALLENGE_COOKIE, path=path)


def _options_response(options, request: Request, *, user: User, path: str) -> Response:
    response = Response(options_to_json(options), media_type="application/json", headers={"Cache-Control": "no-store"})
    _keep_challenge(response, request, user=user, challenge=options.challenge, path=path)
    return response


def _descriptors(keys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(k.credential_id)) for k in keys]


# --- registration (account page) -----------------------------------------------------------------


def registration_options(request: Request, *, session: Session, user: User, path: str) -> Response:
    """The options for ``navigator.credentials.create`` as JSON; its challenge kept for ``path``."""
    keys = list_for(session=session, user=user)
    if len(keys) >= MAX_PER_USER:
        raise Invalid(TOO_MANY, count=MAX_PER_USER)
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=f"lifeline-user-{user.id}".encode(),
        user_name=user.username,
        user_display_name=user.display_name or user.username,
        exclude_credentials=_descriptors(keys),
        # A passkey on the phone or PC (discoverable) where it can be; a security key works too.
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
    )
    return _options_response(options, request, user=user, path=path)


def register(request: Request, *, session: Session, user: User, credential: dict, name: str) -> Passkey:
    """Check the authenticator's answer against the kept challenge and keep its public key. Commits."""
    challenge = _challenge(request, user=user)
    name = " ".join(name.split())[:NAME_MAX] or "パスキー"
    rp = relying_party()
    try:
        verified = verify_registration_response(
            credential=_as_json(credential),
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise Invalid(NOT_ADDED) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.exec(select(Passkey.id).where(Passkey.credential_id == credential_id)).first() is not None:
        raise Invalid("このパスキーはすでに登録されています")
    if len(list_for(session=session, user=user)) >= MAX_PER_USER:
        raise Invalid(TOO_MANY, count=MAX_PER_USER)
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=name,
    )
    session.add(passkey)
    session.commit()
    session.refresh(passkey)
    return passkey


def remove(*, session: Session, user: User, passkey_id: int) -> Passkey:
    """Remove one of the user's own passkeys. Commits."""
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise NotFound("このパスキーは見つかりません")
    session.delete(passkey)
    session.commit()
    return passkey


def remove_all(*, session: Session, user: User) -> None:
    """With a reset of the second factor (no commit: the reset commits)."""
    session.exec(delete(Passkey).where(Passkey.user_id == user.id))


# --- authentication (second sign-in step) ------------------------------------------------------


def authentication_options(request: Request, *, session: Session, user: User, path: str) -> Response:
    """The options for ``navigator.credentials.get``, limited to this user's passkeys."""
    keys = list_for(session=session, user=user)
    if not keys:
        raise Invalid(REFUSED)
    options = generate_authentication_options(
        rp_id=relying_party().id,
        allow_credentials=_descriptors(keys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return _options_response(options, request, user=user, path=path)


def authenticate(request: Request, *, session: Session, user: User, credential: dict) -> Passkey:
    """Check an assertion by one of the user's passkeys; a failure counts toward the lock-out like a wrong code."""
    auth.ensure_not_locked(user=user)
    try:
        challenge = _challenge(request, user=user)
    except Invalid:
        raise AuthFailed(EXPIRED) from None
    credential_id = credential.get("id") if isinstance(credential, dict) else None
    passkey = (
        session.exec(select(Passkey).where(Passkey.user_id == user.id, Passkey.credential_id == credential_id)).first()
        if isinstance(credential_id, str)
        else None
    )
    rp = relying_party()
    try:
        if passkey is None:
            raise InvalidAssertion
        verified = verify_authentication_response(
            credential=_as_json(credential),
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except (InvalidAssertion, WebAuthnException, ValueError, TypeError, KeyError):
        auth.count_failure(session=session, user=user)
        raise AuthFailed(REFUSED) from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    session.add(passkey)
    session.commit()
    return passkey


class InvalidAssertion(Exception):
    """No passkey of this user has the credential id the browser answered with."""


def _as_json(credential: dict) -> str:
    # py_webauthn parses the JSON text itself (and checks its structure); a dict it would take as is.
    return json.dumps(credential)
