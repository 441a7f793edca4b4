"""``ParamedicOnDevice``: the one place that admits a crew member, and only on an enabled device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.auth import service as auth
from app.auth.deps import request_token, signed_in
from app.auth.models import AuthSession, Role, User
from app.core import ratelimit
from app.core.clock import utcnow
from app.core.deps import SessionDep
from app.core.errors import Forbidden
from app.core.security import token_digest
from app.devices import service as devices
from app.devices.models import Device

DEVICE_HEADER = "X-Lifeline-Device"
# A crew session is used only together with the token of the device it was opened on: a stolen
# bearer token alone does nothing, and a header cannot pose as another device (e.g. to dodge its limit).
WRONG_DEVICE_MESSAGE = "ログインした端末からの送信であることを確認できません。この端末でもう一度ログインしてください"


@dataclass(frozen=True)
class OnDevice:
    user: User
    device: Device
    auth_session: AuthSession


def _sent_by(request: Request, device: Device | None) -> bool:
    """Whether the request carries ``device``'s own token."""
    sent = request.headers.get(DEVICE_HEADER)
    return device is not None and bool(sent) and device.device_token_hash == token_digest(sent)


def _refuse_if_disabled(request: Request, session, record: AuthSession | None, bound: Device | None) -> None:
    """A disabled device gets its own message (not "please sign in"), and its session ends now."""
    # Usually the device sending the request is the one the session is bound to: no second lookup.
    same = _sent_by(request, bound)
    sent = request.headers.get(DEVICE_HEADER)
    for device in (bound, bound if same else devices.find_by_token(session=session, token=sent)):
        if device is not None and device.disabled_at is not None:
            if record is not None and record.revoked_at is None:
                record.revoked_at = utcnow()
                session.add(record)
                session.commit()
            raise devices.DeviceRefused(devices.DISABLED_MESSAGE)


def paramedic_on_device(request: Request, session: SessionDep) -> OnDevice:
    """A signed-in paramedic whose session is bound to an enrolled device that is not disabled,
    and the request carries that device's token (``X-Lifeline-Device``; missing or another's: 401).

    Checked on every request, so a device disabled centrally stops at its next contact.
    """
    token, kind = request_token(request)
    # One query for the session row, its user and its device; holding them here keeps them in the
    # identity map, so the checks below (user_for_session, checked) find them without a query.
    record, _user, bound = devices.crew_session(session=session, token=token) if token else (None, None, None)
    _refuse_if_disabled(request, session, record, bound)
    user = signed_in(request, auth.user_for_session(session=session, record=record, kind=kind))
    if Role(user.role) != Role.paramedic:
        raise Forbidden("この操作を行う権限がありません")
    if bound is not None and not _sent_by(request, bound):
        raise devices.DeviceRefused(WRONG_DEVICE_MESSAGE)
    device = devices.checked(session=session, device_id=record.device_id if record else None)
    return OnDevice(user=user, device=device, auth_session=record)


paramedic_on_device.allowed_roles = frozenset({Role.paramedic})  # read by the authorization-matrix test
ParamedicOnDevice = Annotated[OnDevice, Depends(paramedic_on_device)]


async def scan_rate_limit(on: ParamedicOnDevice) -> None:
    """Count the scan against the device the crew session is bound to (``LIFELINE_RATE_LIMIT_SCAN``).

    Keyed by the enrolled device's id, never by what a header says, and only once the crew and the
    device are checked: no header, however random, opens a new allowance (issue 9).
    """
    ratelimit.hit("scan", f"device:{on.device.id}")
