"""Admin web UI for EMS devices: list, register (one-time code shown once), re-issue, disable."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.audit import service as audit
from app.auth import service as auth
from app.auth.deps import AdminUser, require_roles
from app.auth.models import Role
from app.core.deps import EngineDep, FormData, IdPath, SessionDep
from app.core.errors import Conflict
from app.core.forms import parse_form
from app.core.templating import render
from app.devices import service as devices
from app.devices.demo import FIRE_DEPARTMENT
from app.devices.models import Device, DeviceCreate

router = APIRouter(prefix="/admin/devices", include_in_schema=False, dependencies=[Depends(require_roles(Role.admin))])

# What a new device is most often for: the fire department of the first city.
DEFAULT_ORGANISATION = FIRE_DEPARTMENT


def _page(request: Request, session, *, errors=None, values=None, status_code=200):
    return render(
        request,
        "admin/devices.html",
        status_code=status_code,
        section="devices",
        devices=devices.list_devices(session=session),
        errors=errors or {},
        values=values or {"organisation": DEFAULT_ORGANISATION},
        code_hours=devices.CODE_HOURS,
    )


def _code_page(request: Request, device: Device, code: str):
    # The code is in this response only; it is never stored in clear nor shown again.
    response = render(request, "admin/device_code.html", section="devices", device=device, code=code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _audit(engine, request: Request, user, action: str, device: Device) -> None:
    audit.append(
        engine=engine,
        action=action,
        actor_user_id=user.id,
        actor_username=user.username,
        actor_role=Role(user.role).value,
        organisation=device.organisation,
        device=device.name[:100],
        purpose=f"device {device.id}",
        ip=request.client.host if request.client else "",
    )


@router.get("")
def index(request: Request, session: SessionDep):
    return _page(request, session)


@router.post("")
def create(request: Request, session: SessionDep, engine: EngineDep, user: AdminUser, form: FormData):
    data, errors = parse_form(DeviceCreate, form)
    if not errors:
        try:
            device, code = devices.create(session=session, actor=auth.actor_of(user), data=data)
        except Conflict as exc:
            errors = {"name": exc.translated()}
    if errors:
        return _page(request, session, errors=errors, values=form, status_code=422)
    _audit(engine, request, user, "device.create", device)
    return _code_page(request, device, code)


@router.post("/{device_id}/code")
def reissue_code(device_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: AdminUser):
    device, code = devices.reissue_code(session=session, actor=auth.actor_of(user), device_id=device_id)
    _audit(engine, request, user, "device.code", device)
    return _code_page(request, device, code)


@router.post("/{device_id}/disable")
def disable(device_id: IdPath, request: Request, session: SessionDep, engine: EngineDep, user: AdminUser):
    device = devices.disable(session=session, actor=auth.actor_of(user), device_id=device_id)
    _audit(engine, request, user, "device.disable", device)
    return RedirectResponse("/admin/devices", status_code=303)
