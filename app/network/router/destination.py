"""For the crew: has the destination hospital acknowledged the handoff? (polled by the EMS app)."""

from __future__ import annotations

from fastapi import APIRouter

from app.core.deps import IdPath, SessionDep
from app.core.errors import NotFound
from app.devices.deps import ParamedicOnDevice
from app.directory import service as directory
from app.network import handoff
from app.scans import service as scans
from app.scans.models import TransportPublic

router = APIRouter(prefix="/api/v1", tags=["scans"])


@router.get("/scans/{audit_id}/destination", response_model=TransportPublic)
def destination(audit_id: IdPath, session: SessionDep, on: ParamedicOnDevice) -> TransportPublic:
    """The hospital chosen for one of the crew's own scans and whether it has acknowledged (``acknowledged_at``)."""
    event = scans.own_scan(session=session, audit_id=audit_id, user_id=on.user.id)
    transport = handoff.latest_transport(session=session, audit_id=event.id)
    if transport is None:
        raise NotFound("搬送先はまだ登録されていません")
    name = directory.get_institution(session=session, institution_id=transport.institution_id).name
    return TransportPublic.model_validate(transport, update={"institution_name": name})
