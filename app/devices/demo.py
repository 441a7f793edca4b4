"""Demo EMS devices: one enrolled, one waiting with a fresh one-time code for a browser to enroll."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlmodel import Session, select

from app.core.models import Actor
from app.devices import service as devices
from app.devices.models import Device, DeviceCreate

FIRE_DEPARTMENT = "埼玉東部消防組合 加須消防署"
ENROLLED = "デモ端末 加須1号救急車（架空）"
WAITING = "デモ端末 ブラウザ登録用（架空）"


def _code_path(data_dir: Path) -> Path:
    return data_dir / "demo-device.json"


def _device(session: Session, actor: Actor, name: str) -> tuple[Device, str | None]:
    existing = session.exec(select(Device).where(Device.name == name, Device.disabled_at.is_(None))).first()
    if existing is not None:
        return existing, None
    return devices.create(session=session, actor=actor, data=DeviceCreate(name=name, organisation=FIRE_DEPARTMENT))


def load(*, session: Session, actor: Actor, data_dir: Path) -> str:
    """Ensure both demo devices; the waiting one gets a new code on every run (kept 0600 in the data dir)."""
    enrolled, code = _device(session, actor, ENROLLED)
    if code is not None:
        devices.enroll(session=session, code=code)  # its token is not needed: it stands for a phone in service
    waiting, _ = _device(session, actor, WAITING)
    waiting, code = devices.reissue_code(session=session, actor=actor, device_id=waiting.id)
    path = _code_path(data_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(
            {"device": waiting.name, "code": code, "expires_at": waiting.enrollment_expires_at.isoformat()},
            fh,
            ensure_ascii=False,
        )
    return code


def describe(*, base_url: str, data_dir: Path) -> list[str]:
    """Lines for the demo banner: how to enroll a browser as an EMS device."""
    path = _code_path(data_dir)
    if not path.exists():
        return []
    info = json.loads(path.read_text())
    return [
        f"  EMS app:   {base_url}/ems/  — enroll this browser with the one-time code {info['code']}",
        "             (valid 24 h, new on every `lifeline demo`), then sign in as demo-paramedic",
    ]
