"""What crews record beyond the audit log: offline scans sent later, and the destination hospital."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.models import created_at_field


class OfflineAccess(SQLModel, table=True):
    """One access record queued on a device without network; ``client_id`` makes resending harmless."""

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=36, unique=True, index=True)
    audit_id: int
    device_id: int = Field(foreign_key="device.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    card_id: str = Field(max_length=16)
    serial: int
    scanned_at: datetime  # the device's clock: kept, never trusted for ordering
    received_at: datetime = created_at_field()


class TransportBase(SQLModel):
    audit_id: int = Field(index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    incident: str = Field(default="", max_length=60)


class Transport(TransportBase, table=True):
    """The hospital a crew chose for the person they scanned (the latest choice counts)."""

    id: int | None = Field(default=None, primary_key=True)
    chosen_at: datetime = created_at_field()
    device_id: int | None = Field(default=None, foreign_key="device.id")
    user_id: int = Field(foreign_key="user.id")
    # The receiving hospital's acknowledgement of the handoff (issue 8, app.network.handoff).
    acknowledged_at: datetime | None = None
    acknowledged_by: str = Field(default="", max_length=100)


class TransportPublic(TransportBase):
    id: int
    chosen_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    institution_name: str = ""
