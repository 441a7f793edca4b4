"""Device API: enrollment from the EMS app with the one-time code."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.audit import service as audit
from app.core import ratelimit
from app.core.deps import EngineDep, SessionDep
from app.core.errors import AuthFailed
from app.devices import service as devices
from app.devices.models import DevicePublic, Enrollment, EnrollRequest

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.post("/enroll", response_model=Enrollment, status_code=201, dependencies=[Depends(ratelimit.code)])
def enroll(body: EnrollRequest, request: Request, session: SessionDep, engine: EngineDep) -> Enrollment:
    """Exchange the one-time code from the admin for this device's token (kept by the app, shown once)."""
    ip = request.client.host if request.client else ""
    try:
        device, token = devices.enroll(session=session, code=body.code)
    except AuthFailed:
        audit.append(engine=engine, action="device.enroll", outcome="refused", ip=ip, purpose="enrollment code")
        raise
    audit.append(
        engine=engine,
        action="device.enroll",
        organisation=device.organisation,
        device=device.name[:100],
        ip=ip,
        purpose=f"device {device.id}",
    )
    return Enrollment(device_token=token, device=DevicePublic.model_validate(device))
