"""Users, sign-in with lock-out, and sessions."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.auth.models import AuthSession, Role, User, UserCreate
from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.errors import AuthFailed, Conflict, Invalid
from app.core.models import Actor, Source
from app.core.security import hash_password, needs_rehash, new_token, token_digest, verify_password

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
    return Actor(user_id=user.id, name=user.display_name or user.username, source=ROLE_SOURCE[Role(user.role)], role=user.role)


def check_password_rules(*, password: str, username: str) -> None:
    """Refuse passwords that are short or repeat the username (MHLW guideline 6.0 Q&A)."""
    if len(password) < 12:
        raise Invalid("パスワードは12文字以上にしてください", field="password")
    if username.lower() in password.lower():
        raise Invalid("パスワードにユーザー名を含めないでください", field="password")
    if len(set(password)) < 5:
        raise Invalid("パスワードが単純すぎます", field="password")


def create_user(*, session: Session, data: UserCreate) -> User:
    """Create a user with an Argon2 password hash."""
    if session.exec(select(User).where(User.username == data.username)).first():
        raise Conflict("ユーザー名「%(name)s」は既に使われています", name=data.username)
    check_password_rules(password=data.password, username=data.username)
    user = User(**data.model_dump(exclude={"password"}), password_hash=hash_password(data.password))
    user.password_changed_at = utcnow()
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def authenticate(*, session: Session, username: str, password: str) -> User:
    """Check a password, counting failures and locking the account after too many."""
    settings = get_settings()
    user = session.exec(select(User).where(User.username == username.strip())).first()
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        verify_password(password, None)  # same cost as a real check
        raise AuthFailed("ログインの失敗が続いたため、このアカウントは一時的にロックされています。しばらくしてからお試しください")
    if user is None or not user.is_active or not verify_password(password, user.password_hash):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
                user.failed_logins = 0
            session.add(user)
            session.commit()
        raise AuthFailed("ユーザー名またはパスワードが違います")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(user)
    session.commit()
    return user


def start_session(*, session: Session, user: User, kind: str = "web", user_agent: str = "",
                  device_id: int | None = None, hours: int | None = None) -> tuple[str, AuthSession]:
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
    record = find_session(session=session, token=token)
    now = utcnow()
    if record is None or record.kind != kind or record.revoked_at or record.expires_at <= now:
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


def get_user(*, session: Session, username: str) -> User | None:
    """The user with this username, if any."""
    return session.exec(select(User).where(User.username == username)).first()
