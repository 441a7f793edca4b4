"""Enrolled EMS devices (ambulance phones and tablets)."""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from app.core.models import created_at_field, reject_control


class DeviceBase(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    # The fire department the device belongs to, e.g. 埼玉東部消防組合 加須消防署.
    organisation: str = Field(min_length=1, max_length=200)

    _clean = field_validator("name", "organisation", mode="before")(reject_control)


class Device(DeviceBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    created_by: str = Field(default="", max_length=100)
    # One-time enrollment code: only its Argon2 hash is kept; cleared once used.
    enrollment_code_hash: str | None = Field(default=None, max_length=200)
    enrollment_expires_at: datetime | None = None
    enrollment_failures: int = 0
    enrolled_at: datetime | None = None
    # The device's own secret (SHA-256 of a random token, like AuthSession tokens).
    device_token_hash: str | None = Field(default=None, max_length=64, unique=True, index=True)
    last_seen_at: datetime | None = None
    disabled_at: datetime | None = None
    disabled_by: str = Field(default="", max_length=100)


class DeviceCreate(DeviceBase):
    pass


class DevicePublic(DeviceBase):
    id: int
    created_at: datetime
    created_by: str
    enrollment_expires_at: datetime | None
    enrolled_at: datetime | None
    last_seen_at: datetime | None
    disabled_at: datetime | None
    disabled_by: str


class EnrollRequest(SQLModel):
    code: str = Field(min_length=1, max_length=64)


class Enrollment(SQLModel):
    """Returned once to the enrolling device; the token is never shown again."""

    device_token: str
    device: DevicePublic
