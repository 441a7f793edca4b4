"""Accounts of the people who work with the service, as an administrator manages them.

Staff, doctors, crew members and administrators. Residents' accounts come from the letter code
(app.residents) and network clients from /admin/network, so neither is made here. A new account
gets a random initial password, shown once to the administrator who hands it over; at the first
sign-in the person sets up their authenticator (crew members: sign in on an enrolled device) and
must replace the initial password before anything else. A forgotten password is replaced the
same way: the administrator issues a new initial password.
"""

from __future__ import annotations

import re
import secrets

from pydantic import field_validator
from sqlmodel import Field, Session, SQLModel, select

from app.auth import service as auth
from app.auth.models import Role, User, UserCreate
from app.core.errors import Conflict, Invalid, NotFound
from app.core.security import hash_password
from app.directory.models import Practitioner

# The roles made here; the order is the form's.
ROLES = (Role.staff, Role.doctor, Role.paramedic, Role.admin)
# No 0/O, 1/l/I: the password is read off a screen or a sheet of paper and typed.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
_USERNAME = re.compile(r"[A-Za-z0-9._@-]+")


class AccountCreate(SQLModel):
    role: Role
    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    organisation: str = Field(default="", max_length=200)
    practitioner_id: int | None = Field(default=None, ge=1, le=2_147_483_647)

    @field_validator("username")
    @classmethod
    def _plain_username(cls, value: str) -> str:
        # Typed at every sign-in and read in the audit log: no spaces, no look-alike characters.
        if not _USERNAME.fullmatch(value):
            raise ValueError("ユーザー名は半角の英数字と . _ - @ で入力してください")
        return value


def initial_password() -> str:
    """16 random characters in groups of four (~93 bits), e.g. ``Kp7x-Qm2R-…``."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def list_accounts(*, session: Session) -> list[User]:
    """Every account of the roles made here, active ones first, then by role and name."""
    users = session.exec(select(User).where(User.role.in_(ROLES))).all()
    order = {role: n for n, role in enumerate(ROLES)}
    return sorted(users, key=lambda u: (not u.is_active, order[Role(u.role)], u.username))


def practitioners(*, session: Session) -> list[Practitioner]:
    """Whom a doctor's account can stand for: their entry in the directory decides their patients."""
    return list(
        session.exec(select(Practitioner).where(Practitioner.active).order_by(Practitioner.kana, Practitioner.id))
    )


def create(*, session: Session, data: AccountCreate) -> tuple[User, str]:
    """Make the account with a new initial password; returns it with the password (shown once). Commits."""
    if data.role not in ROLES:
        raise Invalid("選択肢から選んでください", field="role")
    practitioner_id = None
    if data.role == Role.doctor:
        if data.practitioner_id is None or session.get(Practitioner, data.practitioner_id) is None:
            raise Invalid(
                "医師のアカウントには、医師名簿の医師を選んでください（担当の患者が決まります）",
                field="practitioner_id",
            )
        taken = session.exec(select(User).where(User.practitioner_id == data.practitioner_id, User.is_active)).first()
        if taken is not None:
            raise Conflict("この医師には、すでにアカウント「%(name)s」があります", name=taken.username)
        practitioner_id = data.practitioner_id
    password = initial_password()
    user = auth.create_user(
        session=session,
        data=UserCreate(
            username=data.username,
            password=password,
            role=data.role,
            display_name=data.display_name,
            organisation=data.organisation,
            practitioner_id=practitioner_id,
        ),
        must_change_password=True,
    )
    return user, password


def reissue_password(*, session: Session, user: User, by: User | None = None) -> str:
    """A new initial password for a forgotten one; returns it (shown once). Commits.

    The old password stops working, every session and API token ends, a lock from failed
    sign-ins is lifted, and the person must choose a new password at the next sign-in. The
    second factor is untouched: whoever holds the new password still needs the authenticator.
    ``by``: the administrator doing it (None: the command line), who changes their own password
    on the account page instead.
    """
    if by is not None and user.id == by.id:
        raise Invalid("自分のパスワードは「アカウント」の画面で変更してください")
    password = initial_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    auth.end_all_sessions(session=session, user_id=user.id)  # commits
    session.refresh(user)
    return password


def get(*, session: Session, user_id: int) -> User:
    """An account of the roles managed here, or NotFound."""
    user = session.get(User, user_id)
    if user is None or Role(user.role) not in ROLES:
        raise NotFound("このアカウントは見つかりません")
    return user


def set_active(*, session: Session, user: User, active: bool, by: User | None = None) -> User:
    """Stop an account (every session and API token ends at once) or let it sign in again. Commits.

    ``by``: the administrator doing it, who may not stop their own account (None: the command line).
    """
    if not active and by is not None and user.id == by.id:
        raise Invalid("自分のアカウントは停止できません。別の管理者に依頼してください")
    user.is_active = active
    if active:
        user.failed_logins, user.locked_until = 0, None
    session.add(user)
    if not active:
        auth.end_all_sessions(session=session, user_id=user.id)  # commits
    session.commit()
    session.refresh(user)
    return user
