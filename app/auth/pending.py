"""The "half signed in" state between the password and the second factor.

It is a signed, short-lived cookie (itsdangerous), not a session: it opens no page, it only lets
the holder try codes for that one account, and every wrong code counts toward the lock-out. It is
bound to the account's password hash and TOTP state, so a password change or a second-factor
reset voids it. Stages: ``code`` (TOTP on: ask for it) and ``enrol`` (a role that must use TOTP
and has none yet: set it up now).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlmodel import Session

from app.auth.models import User
from app.core.config import get_settings

COOKIE = "lifeline_pending"
PATH = "/login"
# Enough to type a code; enrolment may mean installing an authenticator app first.
MAX_AGE = {"code": 5 * 60, "enrol": 20 * 60}


@dataclass
class Pending:
    user: User
    stage: str
    next: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().signing_secret(), salt="lifeline.auth.pending")


def fingerprint(user: User) -> str:
    """What voids any half-finished sign-in step of ``user``: a password change or a second-factor reset."""
    state = f"{user.password_hash}|{user.totp_confirmed_at.isoformat() if user.totp_confirmed_at else ''}"
    return hashlib.sha256(state.encode()).hexdigest()[:32]


def issue(response: Response, request: Request, *, user: User, stage: str, next: str) -> None:
    """Attach the signed state to ``response``."""
    value = _serializer().dumps({"u": user.id, "s": stage, "n": next, "f": fingerprint(user)})
    settings = get_settings()
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE[stage],
        httponly=True,
        path=PATH,
        samesite="lax",
        secure=settings.cookies_secure or request.url.scheme == "https",
    )


def read(request: Request, *, session: Session, stage: str) -> Pending | None:
    """The pending sign-in of this browser at ``stage``, or None (missing, expired, tampered or stale)."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        data = _serializer().loads(value, max_age=MAX_AGE[stage])
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("s") != stage or not isinstance(data.get("u"), int):
        return None
    user = session.get(User, data["u"])
    if user is None or not user.is_active or data.get("f") != fingerprint(user):
        return None
    return Pending(user=user, stage=stage, next=str(data.get("n") or ""))


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH)


# The secret being set up lives in the enrolling browser only (a cookie scoped to the set-up page),
# never in the database before it is confirmed: an unconfirmed secret kept on the user row would be
# shown again to whoever next reached the set-up page with the password, who could then read the
# codes of the phone the real user enrols afterwards. Reloading the page keeps the QR already scanned.
ENROL_COOKIE = "lifeline_enrol"
ENROL_MAX_AGE = MAX_AGE["enrol"]


def _enrol_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().signing_secret(), salt="lifeline.auth.enrol")


def keep_enrolment(response: Response, request: Request, *, user: User, secret: str, path: str) -> None:
    value = _enrol_serializer().dumps({"u": user.id, "k": secret, "f": fingerprint(user)})
    settings = get_settings()
    response.set_cookie(
        ENROL_COOKIE,
        value,
        max_age=ENROL_MAX_AGE,
        httponly=True,
        path=path,
        samesite="strict",
        secure=settings.cookies_secure or request.url.scheme == "https",
    )


def enrolment_secret(request: Request, *, user: User) -> str | None:
    """The secret this browser is setting up for ``user``, if any (and not stale)."""
    try:
        data = _enrol_serializer().loads(request.cookies.get(ENROL_COOKIE, ""), max_age=ENROL_MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.id or data.get("f") != fingerprint(user):
        return None
    return str(data.get("k") or "") or None


def clear_enrolment(response: Response, *, path: str) -> None:
    response.delete_cookie(ENROL_COOKIE, path=path)
