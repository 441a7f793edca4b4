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
# The scan limit counts per enrolled device (its token header), else per address (issue 9).
scan_rate_limit = ratelimit.rate_limit(("scan", ratelimit.header_or_address(DEVICE_HEADER)))


@dataclass(frozen=True)
class OnDevice:
    user: User
    device: Device
    auth_session: AuthSession


def _refuse_if_disabled(request: Request, session, record: AuthSession | None, bound: Device | None) -> None:
    """A disabled device gets its own message (not "please sign in"), and its session ends now."""
    sent = request.headers.get(DEVICE_HEADER)
    # Usually the device sending the request is the one the session is bound to: no second lookup.
    same = bound is not None and sent and bound.device_token_hash == token_digest(sent)
    for device in (bound, bound if same else devices.find_by_token(session=session, token=sent)):
        if device is not None and device.disabled_at is not None:
            if record is not None and record.revoked_at is None:
                record.revoked_at = utcnow()
                session.add(record)
                session.commit()
            raise devices.DeviceRefused(devices.DISABLED_MESSAGE)


def paramedic_on_device(request: Request, session: SessionDep) -> OnDevice:
    """A signed-in paramedic whose session is bound to an enrolled device that is not disabled.

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
    device = devices.checked(session=session, device_id=record.device_id if record else None)
    return OnDevice(user=user, device=device, auth_session=record)


paramedic_on_device.allowed_roles = frozenset({Role.paramedic})  # read by the authorization-matrix test
ParamedicOnDevice = Annotated[OnDevice, Depends(paramedic_on_device)]
