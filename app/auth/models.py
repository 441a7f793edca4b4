"""Users, their roles and their sessions (web cookies and API bearer tokens)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from app.core.models import created_at_field, enum_field, secret_field


class Role(str, Enum):
    admin = "admin"
    staff = "staff"
    doctor = "doctor"
    paramedic = "paramedic"
    resident = "resident"
    network = "network"  # a hospital's or clinic's system (app.network), never a person


# Roles that must sign in with a second factor (DESIGN.md §6); others may opt in (app.auth.totp).
SECOND_FACTOR_ROLES = frozenset({Role.admin, Role.staff, Role.doctor})


class UserBase(SQLModel):
    username: str = Field(min_length=3, max_length=64, unique=True, index=True)
    display_name: str = Field(default="", max_length=100)
    role: Role = enum_field(Role, Role.staff)
    # Organisation the user acts for: the city department, hospital or fire department.
    organisation: str = Field(default="", max_length=200)
    institution_id: int | None = Field(default=None, foreign_key="institution.id")
    # A doctor's own entry in the directory: decides who their patients are.
    practitioner_id: int | None = Field(default=None, foreign_key="practitioner.id")
    # A resident account belongs to exactly one household.
    household_id: int | None = Field(default=None, foreign_key="household.id")


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=200)
    is_active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    # TOTP second factor: the secret is stored encrypted; it counts only once confirmed.
    totp_secret: str | None = secret_field()
    totp_confirmed_at: datetime | None = None
    # The time step of the last accepted code: a code is never accepted twice (RFC 6238 §5.2).
    totp_last_step: int | None = None
    created_at: datetime = created_at_field()
    password_changed_at: datetime | None = None
    # Set while the password is one an administrator issued (app.auth.accounts): until the person
    # chooses their own, every page sends them to the password form and no API token is issued.
    must_change_password: bool = False
    last_login_at: datetime | None = None


class UserCreate(UserBase):
    # Length and content rules live in app.auth.passwords (they depend on the role).
    password: str = Field(min_length=1, max_length=256)


class UserPublic(UserBase):
    id: int
    is_active: bool
    created_at: datetime


class AuthSession(SQLModel, table=True):
    """A signed-in session; the cookie or bearer token is random and only its hash is kept."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    kind: str = Field(default="web", max_length=8)
    created_at: datetime = created_at_field()
    expires_at: datetime
    last_seen_at: datetime | None = None
    revoked_at: datetime | None = None
    user_agent: str = Field(default="", max_length=300)
    # Crew sessions are bound to the enrolled device they were opened on (app.devices).
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True)


class RecoveryCode(SQLModel, table=True):
    """A single-use code for signing in without the authenticator; only its SHA-256 is kept.

    Codes carry 80 random bits, so a plain hash is as safe as a slow one and is looked up directly.
    """

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    used_at: datetime | None = None


class Passkey(SQLModel, table=True):
    """A WebAuthn credential (passkey or security key): a second way through the sign-in's second
    step, beside the authenticator code (app.auth.passkeys). Only the public key is kept."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    # base64url of the authenticator's credential id (WebAuthn allows up to 1,023 bytes).
    credential_id: str = Field(max_length=1400, unique=True)
    public_key: bytes = Field(sa_type=LargeBinary)  # COSE_Key
    sign_count: int = 0
    name: str = Field(max_length=60)
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = None


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
