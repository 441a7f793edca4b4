"""Enrolled devices for tests: paramedics only work on one (app.devices.deps.ParamedicOnDevice)."""

from __future__ import annotations

from sqlmodel import Session, select

from app.auth import service as auth
from app.auth.deps import SESSION_COOKIE
from app.devices import service as devices
from app.devices.models import Device, DeviceCreate
from tests.factories import FACTORY_ACTOR

FIRE_DEPARTMENT = "埼玉東部消防組合 加須消防署"


def new_device(db: Session, name: str = "加須1号救急車 端末") -> tuple[Device, str]:
    """A device with a fresh one-time code: (device, code). Names are unique among devices in use,
    so a test's second device of the same name is numbered (``加須1号救急車 端末 2``)."""
    taken = set(db.exec(select(Device.name).where(Device.disabled_at.is_(None))))
    unique = next(
        candidate for n in range(1, len(taken) + 2) if (candidate := name if n == 1 else f"{name} {n}") not in taken
    )
    return devices.create(session=db, actor=FACTORY_ACTOR, data=DeviceCreate(name=unique, organisation=FIRE_DEPARTMENT))


def enrolled_device(db: Session, name: str = "加須1号救急車 端末") -> tuple[Device, str]:
    """An enrolled device: (device, device token)."""
    device, code = new_device(db, name)
    return devices.enroll(session=db, code=code)


def bind_to_device(db: Session, client, device: Device):
    """Bind the signed-in client's session (from the ``login`` fixture) to ``device``, as a sign-in on it would."""
    record = auth.find_session(session=db, token=client.cookies.get(SESSION_COOKIE))
    record.device_id = device.id
    db.add(record)
    db.commit()
    return client


def device_login(login, db: Session):
    """A ``login`` that binds paramedics' sessions to an enrolled device and sends its token in
    ``X-Lifeline-Device``, as the field app does (other roles unchanged)."""
    enrolled = None

    def _login(user):
        nonlocal enrolled
        client = login(user)
        if user.role == "paramedic":
            enrolled = enrolled or enrolled_device(db)
            bind_to_device(db, client, enrolled[0])
            client.headers["X-Lifeline-Device"] = enrolled[1]
        return client

    return _login
