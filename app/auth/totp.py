"""The second factor: TOTP (RFC 6238 via pyotp) and single-use recovery codes.

Codes are 6 digits for 30-second steps; the step before and after are accepted for clock drift,
and a step once used is refused (the last accepted step is kept on the user row and claimed with
a conditional UPDATE, so two requests with the same code cannot both win). Recovery codes are 16
characters (80 random bits); only their SHA-256 is stored and a code is claimed the same way.
Wrong codes count toward the account's lock-out like wrong passwords (app.auth.service).
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime

import pyotp
import segno
from pyotp.utils import strings_equal
from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, select

from app.auth import passkeys
from app.auth import service as auth
from app.auth.models import RecoveryCode, User
from app.core.clock import utcnow
from app.core.errors import AuthFailed, Invalid
from app.core.security import token_digest

ISSUER = "Tone Lifeline"
DRIFT_STEPS = 1
RECOVERY_COUNT = 10
RECOVERY_LOW = 3  # warn when this many or fewer remain
RECOVERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I/L to misread
RECOVERY_LENGTH = 16
WRONG_CODE = "確認コードが違います。認証アプリの最新の6桁か、リカバリーコードを入力してください"


def is_enabled(user: User) -> bool:
    return user.totp_confirmed_at is not None and bool(user.totp_secret)


def _clean(code: str) -> str:
    """What was typed, as compared: full-width digits and lower case accepted, spaces and hyphens ignored."""
    text = unicodedata.normalize("NFKC", code or "").upper()
    return "".join(c for c in text if c.isalnum())[:64]


# --- enrolment -------------------------------------------------------------------------------


def new_secret() -> str:
    """A fresh secret to enrol (160 bits, as RFC 4226 recommends); it reaches the database only once confirmed."""
    return pyotp.random_base32()


def provisioning_uri(*, user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as an SVG data URI (the CSP allows data: images, not inline script or style)."""
    return segno.make(uri, error="m", micro=False).svg_data_uri(scale=5, border=4)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(*, session: Session, user: User, secret: str, code: str) -> list[str]:
    """Turn TOTP on with ``secret`` and a first valid code; returns the new recovery codes (plaintext, shown once)."""
    if is_enabled(user):
        raise Invalid("2段階認証はすでに設定されています")
    if not _claim_totp(session=session, user=user, code=_clean(code), secret=secret):
        raise Invalid("確認コードが違います。認証アプリに表示されている6桁を入力してください", field="code")
    user.totp_secret = secret
    user.totp_confirmed_at = utcnow()
    session.add(user)
    return regenerate_recovery_codes(session=session, user=user)  # commits both


# --- checking --------------------------------------------------------------------------------


def _claim_totp(
    *, session: Session, user: User, code: str, secret: str | None = None, now: datetime | None = None
) -> bool:
    """True when ``code`` is the code of a step near now that was not used before; claims that step."""
    secret = secret or user.totp_secret
    if not (len(code) == 6 and code.isdigit() and secret):
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode((now or utcnow()).timestamp())
    step = next(
        (
            s
            for s in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1)
            if strings_equal(totp.generate_otp(s), code)
        ),
        None,
    )
    if step is None:
        return False
    claimed = session.exec(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
    )
    session.commit()
    session.refresh(user)
    return claimed.rowcount == 1


def _claim_recovery(*, session: Session, user: User, code: str) -> bool:
    if len(code) != RECOVERY_LENGTH:
        return False
    claimed = session.exec(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == token_digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    session.commit()
    return claimed.rowcount == 1


def verify(*, session: Session, user: User, code: str) -> str:
    """Check a TOTP or recovery code for ``user``; returns "totp" or "recovery". Wrong codes are counted."""
    auth.ensure_not_locked(user=user)
    cleaned = _clean(code)
    if _claim_totp(session=session, user=user, code=cleaned):
        return "totp"
    if _claim_recovery(session=session, user=user, code=cleaned):
        return "recovery"
    auth.count_failure(session=session, user=user)
    raise AuthFailed(WRONG_CODE)


# --- recovery codes and reset ----------------------------------------------------------------


def _new_recovery_code() -> str:
    return "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))


def show_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def regenerate_recovery_codes(*, session: Session, user: User) -> list[str]:
    """Replace all recovery codes of ``user`` with new ones; returns them formatted (shown once). Commits."""
    codes = [_new_recovery_code() for _ in range(RECOVERY_COUNT)]
    session.exec(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=token_digest(code)))
    session.commit()
    return [show_code(code) for code in codes]


def remaining_recovery_codes(*, session: Session, user: User) -> int:
    return session.exec(
        select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).one()


def reset(*, session: Session, user: User) -> int:
    """Turn the second factor off (TOTP, recovery codes, passkeys) and end every session; returns sessions ended.

    Commits.

    Used when the phone is lost: a passkey may well have been on it.
    """
    passkeys.remove_all(session=session, user=user)
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    session.add(user)
    session.exec(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return auth.end_all_sessions(session=session, user_id=user.id)
