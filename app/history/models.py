"""One row per changed field. Old and new values may be medical, so they are encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.models import Source, created_at_field, enum_field, secret_field


class ChangeBase(SQLModel):
    at: datetime = created_at_field()
    actor: str = Field(default="", max_length=100)  # user display name at the time
    source: Source = enum_field(Source, Source.staff, length=10)
    entity: str = Field(max_length=20)  # household / person / clinical / contact / consent
    entity_id: int
    action: str = Field(max_length=10)  # create / update / remove
    field: str = Field(default="", max_length=40)
    old_value: str | None = secret_field()
    new_value: str | None = secret_field()


class Change(ChangeBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    household_id: int | None = Field(default=None, foreign_key="household.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)


class ChangePublic(ChangeBase):
    id: int
    person_id: int | None
    household_id: int | None
