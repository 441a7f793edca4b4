"""Device lifecycle: create with a one-time code, enroll, check on every contact, disable."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from app.auth.models import AuthSession, User
from app.core.clock import utcnow
from app.core.errors import AuthFailed, Conflict, NotFound
from app.core.models import Actor
from app.core.security import hash_password, new_token, token_digest, verify_password
from app.devices.models import Device, DeviceCreate

CODE_HOURS = 24
# Wrong codes tried against one device before its code is void (the admin re-issues one).
MAX_CODE_FAILURES = 5
# Unambiguous when read aloud or typed with gloves: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_GROUPS = 3
LAST_SEEN_EVERY = timedelta(minutes=1)
_CODE = re.compile(r"^(\d{1,9})-([" + CODE_ALPHABET + r"]{12})$")


class DeviceRefused(AuthFailed):
    """The device is unknown, not enrolled or disabled (401 with a message for the crew)."""


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they are UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _new_code(device_id: int) -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(4 * CODE_GROUPS))
    return f"{device_id}-" + "-".join(body[i : i + 4] for i in range(0, len(body), 4))


def _parse_code(code: str) -> tuple[int, str] | None:
    """``12-ABCD-EFGH-JKMN`` (any case, spaces or hyphens between groups) → (12, 'ABCDEFGHJKMN')."""
    text = re.sub(r"\s", "", unicodedata.normalize("NFKC", code)).upper()
    device_id, _, rest = text.partition("-")
    match = _CODE.match(f"{device_id}-{rest.replace('-', '')}")
    return (int(match.group(1)), match.group(2)) if match else None


def _set_code(device: Device) -> str:
    code = _new_code(device.id)
    device.enrollment_code_hash = hash_password(_parse_code(code)[1])
    device.enrollment_expires_at = utcnow() + timedelta(hours=CODE_HOURS)
    device.enrollment_failures = 0
    return code


def list_devices(*, session: Session) -> list[Device]:
    """Every device, enabled first, then by organisation and name."""
    return list(
        session.exec(
            select(Device).order_by(Device.disabled_at.is_not(None), Device.organisation, Device.name, Device.id)
        )
    )


def get(*, session: Session, device_id: int) -> Device:
    """The device, or NotFound."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("端末が見つかりません")
    return device


def create(*, session: Session, actor: Actor, data: DeviceCreate) -> tuple[Device, str]:
    """Register a device and return it with its one-time enrollment code (shown once).

    Names are unique among devices in use: the access log and its review name the device a crew
    scanned with, so two "加須1号救急車 端末" would make a record ambiguous. A stopped device's name
    may be used again (its records keep their date).
    """
    taken = session.exec(select(Device.id).where(Device.name == data.name, Device.disabled_at.is_(None))).first()
    if taken is not None:
        raise Conflict(
            "「%(name)s」という名前の端末は既に使われています。区別できる名前にしてください（例：%(name)s 2）",
            name=data.name,
        )
    device = Device(**data.model_dump(), created_by=actor.name)
    session.add(device)
    session.flush()
    code = _set_code(device)
    session.commit()
    session.refresh(device)
    return device, code


def reissue_code(*, session: Session, actor: Actor, device_id: int) -> tuple[Device, str]:
    """A new one-time code (e.g. a replaced phone); the device's current enrollment ends when it is used."""
    device = get(session=session, device_id=device_id)
    if device.disabled_at is not None:
        raise Conflict("使用停止した端末には登録コードを発行できません。新しい端末として登録してください")
    code = _set_code(device)
    session.add(device)
    session.commit()
    session.refresh(device)
    return device, code


def enroll(*, session: Session, code: str) -> tuple[Device, str]:
    """Exchange a valid one-time code for the device token (returned once, only its hash is kept)."""
    parsed = _parse_code(code)
    device = session.get(Device, parsed[0]) if parsed else None
    now = utcnow()
    usable = (
        device is not None
        and device.disabled_at is None
        and device.enrollment_code_hash is not None
        and device.enrollment_expires_at is not None
        and _aware(device.enrollment_expires_at) > now
    )
    if not usable or not verify_password(parsed[1], device.enrollment_code_hash):
        if usable:
            device.enrollment_failures += 1
            if device.enrollment_failures >= MAX_CODE_FAILURES:
                device.enrollment_code_hash = None
            session.add(device)
            session.commit()
        raise AuthFailed(
            "登録コードが正しくないか、期限切れか、既に使われています。管理者に新しいコードを発行してもらってください"
        )
    token = new_token()
    # Re-enrolling (a replaced phone) ends the previous phone's token and its crew sessions.
    _revoke_sessions(session, device.id, now)
    device.device_token_hash = token_digest(token)
    device.enrollment_code_hash = device.enrollment_expires_at = None
    device.enrolled_at = device.last_seen_at = now
    session.add(device)
    session.commit()
    session.refresh(device)
    return device, token


def _revoke_sessions(session: Session, device_id: int, now: datetime) -> None:
    session.exec(
        update(AuthSession)
        .where(AuthSession.device_id == device_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def disable(*, session: Session, actor: Actor, device_id: int) -> Device:
    """Stop a lost or retired device: its token and every crew session on it end now."""
    device = get(session=session, device_id=device_id)
    now = utcnow()
    if device.disabled_at is None:
        device.disabled_at, device.disabled_by = now, actor.name
        device.enrollment_code_hash = device.enrollment_expires_at = None
        session.add(device)
    _revoke_sessions(session, device.id, now)
    session.commit()
    session.refresh(device)
    return device


def _seen(session: Session, device: Device) -> None:
    now = utcnow()
    last = _aware(device.last_seen_at)
    if last is None or now - last >= LAST_SEEN_EVERY:
        device.last_seen_at = now
        session.add(device)
        session.commit()


DISABLED_MESSAGE = "この端末は使用停止されています。管理者に連絡してください"


def crew_session(*, session: Session, token: str) -> tuple[AuthSession | None, User | None, Device | None]:
    """The session row of ``token`` (any state), its user and its device, read in one query.

    While the caller holds them they stay in the session's identity map (it keeps weak
    references), so the checks that follow (``session.get``) need no query: this runs on every scan.
    """
    row = session.exec(
        select(AuthSession, User, Device)
        .join(User, User.id == AuthSession.user_id, isouter=True)
        .join(Device, Device.id == AuthSession.device_id, isouter=True)
        .where(AuthSession.token_hash == token_digest(token))
    ).first()
    return tuple(row) if row else (None, None, None)


def find_by_token(*, session: Session, token: str | None) -> Device | None:
    """The device holding ``token``, whatever its state."""
    return (
        session.exec(select(Device).where(Device.device_token_hash == token_digest(token))).first() if token else None
    )


def by_token(*, session: Session, token: str | None) -> Device:
    """The enrolled, enabled device holding ``token`` (its last contact noted), or DeviceRefused."""
    device = find_by_token(session=session, token=token)
    if device is None:
        raise DeviceRefused("この端末は登録されていません。管理者から受け取った登録コードで端末を登録してください")
    if device.disabled_at is not None:
        raise DeviceRefused(DISABLED_MESSAGE)
    _seen(session, device)
    return device


def checked(*, session: Session, device_id: int | None) -> Device:
    """The device a crew session is bound to, if still enabled (its last contact noted), or DeviceRefused."""
    device = session.get(Device, device_id) if device_id else None
    if device is None:
        raise DeviceRefused("救急隊員は登録された端末からのみ利用できます")
    if device.disabled_at is not None:
        raise DeviceRefused(DISABLED_MESSAGE)
    _seen(session, device)
    return device
