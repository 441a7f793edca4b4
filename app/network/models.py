"""Network clients: a hospital's or clinic's system calling the FHIR API with its own credentials."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.models import created_at_field

READ_SCOPE = "system/*.read"
WRITE_SCOPE = "system/*.write"
DEFAULT_SCOPES = f"{READ_SCOPE} {WRITE_SCOPE}"


class NetworkClientBase(SQLModel):
    institution_id: int = Field(foreign_key="institution.id", index=True)
    # SMART v1 system scopes, space separated: system/*.read, system/*.write or per type.
    scopes: str = Field(default=DEFAULT_SCOPES, max_length=400)
    active: bool = True


class NetworkClient(NetworkClientBase, table=True):
    """One institution's system; its identity in the audit log is the user row ``user_id`` (role network)."""

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=40, unique=True, index=True)
    secret_hash: str = Field(max_length=200)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = created_at_field()


class NetworkClientPublic(NetworkClientBase):
    id: int
    client_id: str
    created_at: datetime
