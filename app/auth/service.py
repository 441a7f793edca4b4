"""Users, sign-in with lock-out, and sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from app.auth import passwords
from app.auth.models import SECOND_FACTOR_ROLES, AuthSession, Role, User, UserCreate
from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.errors import AuthFailed, Conflict, Invalid
from app.core.models import Actor, Source
from app.core.security import hash_password, needs_rehash, new_token, token_digest, verify_password
from app.core.text import has_control_chars

ROLE_SOURCE = {
    Role.admin: Source.staff,
    Role.staff: Source.staff,
    Role.doctor: Source.doctor,
    Role.paramedic: Source.staff,
    Role.resident: Source.resident,
    Role.network: Source.network,
}


def actor_of(user: User) -> Actor:
    """The user as the author of changes, with the provenance their role implies."""
    return Actor(
        user_id=user.id, name=user.display_name or user.username, source=ROLE_SOURCE[Role(user.role)], role=user.role
    )


def create_user(*, session: Session, data: UserCreate, must_change_password: bool = False) -> User:
    """Create a user with an Argon2 password hash (``must_change_password``: one an administrator issued)."""
    if session.exec(select(User).where(User.username == data.username)).first():
        raise Conflict("ユーザー名「%(name)s」は既に使われています", name=data.username)
    passwords.check_rules(
        password=data.password,
        username=data.username,
        display_name=data.display_name,
        second_factor=passwords.has_second_factor(role=Role(data.role), totp_enabled=False),
    )
    user = User(
        **data.model_dump(exclude={"password"}),
        password_hash=hash_password(data.password),
        must_change_password=must_change_password,
    )
    user.password_changed_at = utcnow()
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def needs_second_step(user: User) -> bool:
    """True when a password alone does not sign this user in: a required role, or TOTP turned on."""
    return Role(user.role) in SECOND_FACTOR_ROLES or user.totp_confirmed_at is not None


def ensure_not_locked(*, user: User) -> None:
    """Refuse a locked account, at any step of the sign-in."""
    if user.locked_until and user.locked_until > utcnow():
        raise AuthFailed(
            "ログインの失敗が続いたため、このアカウントは一時的にロックされています。しばらくしてからお試しください"
        )


def count_failure(*, session: Session, user: User) -> None:
    """Count a wrong password or code; too many lock the account for a while. Commits."""
    settings = get_settings()
    user.failed_logins += 1
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = utcnow() + timedelta(minutes=settings.login_lockout_minutes)
        user.failed_logins = 0
    session.add(user)
    session.commit()


def complete_sign_in(*, session: Session, user: User) -> None:
    """Every factor checked: forget earlier failures and note the sign-in. Commits."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    session.add(user)
    session.commit()


def authenticate(*, session: Session, username: str, password: str) -> User:
    """Check a password, counting failures and locking the account after too many.

    For a user with a second step (``needs_second_step``) the failure count is left as it is:
    it is reset only when the code is right too, so a known password does not buy fresh guesses.
    """
    user = get_user(session=session, username=username.strip())
    if user is not None and user.locked_until and user.locked_until > utcnow():
        verify_password(password, None)  # same cost as a real check
        ensure_not_locked(user=user)
    if user is None or not user.is_active or not verify_password(password, user.password_hash):
        if user is not None:
            count_failure(session=session, user=user)
        raise AuthFailed("ユーザー名またはパスワードが違います")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
        session.commit()
    if not needs_second_step(user):
        complete_sign_in(session=session, user=user)
    return user


def change_password(*, session: Session, user: User, current: str, new: str, new2: str) -> int:
    """Check the current password and the rules, store the new hash and end every session; returns sessions ended."""
    if not verify_password(current, user.password_hash):
        count_failure(session=session, user=user)
        raise Invalid("現在のパスワードが違います", field="current")
    if new != new2:
        raise Invalid("2回入力したパスワードが ちがいます", field="new2")
    if new == current:
        raise Invalid("新しいパスワードは、今のパスワードと違うものにしてください", field="new")
    passwords.check_rules(
        password=new,
        username=user.username,
        display_name=user.display_name,
        second_factor=passwords.has_second_factor(
            role=Role(user.role), totp_enabled=user.totp_confirmed_at is not None
        ),
    )
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    session.add(user)
    return end_all_sessions(session=session, user_id=user.id)  # commits the new hash with the revocation


def start_session(
    *,
    session: Session,
    user: User,
    kind: str = "web",
    user_agent: str = "",
    device_id: int | None = None,
    hours: int | None = None,
) -> tuple[str, AuthSession]:
    """Open a new session and return its token (shown once, only its hash is stored)."""
    settings = get_settings()
    hours = hours or (settings.session_hours if kind == "web" else settings.api_token_hours)
    token = new_token()
    record = AuthSession(
        token_hash=token_digest(token),
        user_id=user.id,
        kind=kind,
        expires_at=utcnow() + timedelta(hours=hours),
        user_agent=user_agent[:300],
        device_id=device_id,
    )
    session.add(record)
    session.commit()
    return token, record


def find_session(*, session: Session, token: str) -> AuthSession | None:
    """The session row of ``token`` whatever its state (revoked or expired ones included)."""
    return session.exec(select(AuthSession).where(AuthSession.token_hash == token_digest(token))).first()


def user_for_token(*, session: Session, token: str, kind: str) -> User | None:
    """The active user behind a valid, unexpired session token, or None."""
    return user_for_session(session=session, record=find_session(session=session, token=token), kind=kind)


def user_for_session(*, session: Session, record: AuthSession | None, kind: str) -> User | None:
    """The active user behind a session row already looked up, when it is valid and unexpired."""
    if record is None or record.kind != kind or record.revoked_at or record.expires_at <= utcnow():
        return None
    user = session.get(User, record.user_id)
    if user is None or not user.is_active:
        return None
    return user


def end_session(*, session: Session, token: str) -> None:
    """Revoke one session (sign-out)."""
    record = session.exec(select(AuthSession).where(AuthSession.token_hash == token_digest(token))).first()
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
        session.add(record)
        session.commit()


def end_all_sessions(*, session: Session, user_id: int) -> int:
    """Revoke every live session of a user ("sign out everywhere"); returns how many. Commits."""
    result = session.exec(
        update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()
    return result.rowcount


def get_user(*, session: Session, username: str) -> User | None:
    """The user with this username, if any.

    A typed name with control characters is nobody's (no username may have them): sign-in then
    answers "wrong name or password" like for any other unknown name, not the invalid-input error
    the database layer gives text with a NUL (app.core.db).
    """
    if has_control_chars(username):
        return None
    return session.exec(select(User).where(User.username == username)).first()
