"""A household: an address, a phone, its 民生委員 and the kit delivered to it."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import field_validator
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.models import Phone, created_at_field, optimistic_lock, reject_control, secret_field
from app.core.text import digits


class HouseholdBase(SQLModel):
    # Key of the household in the city's registry extract; makes re-imports idempotent.
    external_ref: str | None = Field(default=None, max_length=40, unique=True, index=True)
    postal_code: str = Field(default="", max_length=8)
    prefecture: str = Field(default="埼玉県", max_length=10)
    municipality: str = Field(default="加須市", max_length=40)
    address_line: str = Field(min_length=1, max_length=200, index=True)  # a narrow index to scan in search
    building: str = Field(default="", max_length=100)
    phone: Phone = Field(default="", max_length=20)
    welfare_commissioner: str = Field(default="", max_length=100)
    welfare_commissioner_phone: Phone = Field(default="", max_length=20)
    kit_delivered_on: date | None = None
    notes: str = secret_field(default="", max_length=2000)  # staff memo: may hold medical text

    _no_control = field_validator(
        "external_ref",
        "prefecture",
        "municipality",
        "address_line",
        "building",
        "welfare_commissioner",
        "notes",
        mode="before",
    )(reject_control)

    @field_validator("external_ref", mode="after")
    @classmethod
    def _ref(cls, v: str | None) -> str | None:
        return v or None  # blank means "not linked": NULL, which the unique index allows many times

    @field_validator("postal_code", mode="before")
    @classmethod
    def _postal(cls, v: str | None) -> str:
        if not isinstance(v, str | None):
            return v  # not text: the declared type refuses it with a clear 422
        d = digits(v or "")
        if d and len(d) != 7:
            raise ValueError("郵便番号は7桁で入力してください")
        return f"{d[:3]}-{d[3:]}" if d else ""


class Household(HouseholdBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    phone_key: str = Field(default="", max_length=20, index=True)
    kit_printed_at: datetime | None = None
    version: int = Field(default=1, nullable=False)
    created_at: datetime = created_at_field()
    updated_at: datetime = Field(default_factory=utcnow)

    @declared_attr
    def __mapper_args__(cls):
        return optimistic_lock(cls)


class HouseholdCreate(HouseholdBase):
    pass


class HouseholdUpdate(HouseholdBase):
    """A full replacement of the editable fields; ``version`` is the one the editor saw."""

    version: int


class HouseholdPublic(HouseholdBase):
    id: int
    version: int
    kit_printed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class HouseholdListItem(SQLModel):
    """A row of the household list: the registry fields without the staff memo, which may hold
    medical text and is therefore read one household at a time, with an audit record."""

    id: int
    version: int
    external_ref: str | None
    postal_code: str
    prefecture: str
    municipality: str
    address_line: str
    building: str
    phone: str
    welfare_commissioner: str
    welfare_commissioner_phone: str
    kit_delivered_on: date | None
    kit_printed_at: datetime | None
    created_at: datetime
