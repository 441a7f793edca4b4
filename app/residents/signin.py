"""First sign-in of a household: the access code from the letter plus a member's date of birth.

The code is not stored in a form that can be looked up (Argon2 with a salt), so the date of
birth narrows the search: only households with a member born that day and a live code are
checked, a handful of 1 ms hashes. A matching code is consumed (one-time) and becomes a resident
account with a username and passphrase of the family's choice; later sign-ins use /login.

Lock-out: failures are counted per client address and per date of birth typed (which stands
for the households that could be meant); five within 30 minutes lock that address or date for
30 minutes. A 60-bit code cannot be guessed online anyway; the limit stops scripted attempts.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from app.auth import passwords
from app.auth import service as auth
from app.auth.models import AuthSession, Role, User, UserCreate
from app.core.clock import utcnow
from app.core.errors import AuthFailed, Conflict, Invalid
from app.persons.models import Person
from app.residents import service as codes
from app.residents.models import CodeAttempt, ResidentAccessCode

MAX_FAILURES = 5
WINDOW = timedelta(minutes=30)
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
LOCKED_MESSAGE = "まちがいが続いたため、30分間 使えません。時間をおいてから、もう一度 ためしてください。"
WRONG_MESSAGE = "コードか生年月日が ちがいます。もう一度 確かめてください。"


class LockedOut(AuthFailed):
    status_code = 429


def _subject(birth_date: date) -> str:
    return hashlib.sha256(f"birth:{birth_date.isoformat()}".encode()).hexdigest()


def is_locked(*, session: Session, ip: str, birth_date: date | None) -> bool:
    """True while the address or the date of birth has had too many recent failures."""
    since = utcnow() - WINDOW
    by_ip = session.exec(select(func.count()).where(CodeAttempt.ip == ip, CodeAttempt.at > since)).one()
    by_subject = 0
    if birth_date is not None:
        by_subject = session.exec(
            select(func.count()).where(CodeAttempt.subject == _subject(birth_date), CodeAttempt.at > since)
        ).one()
    return max(by_ip, by_subject) >= MAX_FAILURES


def record_failure(*, session: Session, ip: str, birth_date: date | None) -> None:
    """Count a failed attempt (and forget those older than a day); commits."""
    session.exec(delete(CodeAttempt).where(CodeAttempt.at < utcnow() - timedelta(days=1)))
    session.add(CodeAttempt(ip=ip[:64], subject=_subject(birth_date) if birth_date else ""))
    session.commit()


def find_household(*, session: Session, code: str, birth_date: date) -> int | None:
    """The household whose live code is ``code`` and which has a member born on ``birth_date``."""
    candidates = session.exec(
        select(Person.household_id)
        .distinct()
        .join(ResidentAccessCode, ResidentAccessCode.household_id == Person.household_id)
        .where(Person.birth_date == birth_date, ResidentAccessCode.revoked_at.is_(None))
    ).all()
    found = None
    for household_id in candidates:
        # Every candidate is checked, so the time taken does not tell how many there were.
        if codes.verify_access_code(session=session, household_id=household_id, code=code) and found is None:
            found = household_id
    if not candidates:
        codes.verify_access_code(session=session, household_id=0, code=code)
    return found


def check_code(*, session: Session, ip: str, code: str, birth_date: date) -> int:
    """The household of a valid code, or AuthFailed (counted) / LockedOut."""
    if is_locked(session=session, ip=ip, birth_date=birth_date):
        raise LockedOut(LOCKED_MESSAGE)
    household_id = find_household(session=session, code=code, birth_date=birth_date)
    if household_id is None:
        record_failure(session=session, ip=ip, birth_date=birth_date)
        if is_locked(session=session, ip=ip, birth_date=birth_date):
            raise LockedOut(LOCKED_MESSAGE)
        raise AuthFailed(WRONG_MESSAGE)
    return household_id


def check_account(*, session: Session, username: str, password: str, password2: str, display_name: str) -> None:
    """Refuse a username or passphrase the account could not be created with (nothing is counted)."""
    if not USERNAME.fullmatch(username):
        raise Invalid("ログイン名は、半角の英字・数字で3文字以上にしてください（. _ - も使えます）", field="username")
    if auth.get_user(session=session, username=username) is not None:
        raise Conflict("このログイン名は、すでに使われています。別の名前にしてください")
    # No second factor yet when the account is made, so the longer rule applies.
    passwords.check_rules(password=password, username=username, display_name=display_name, second_factor=False)
    if password != password2:
        raise Invalid("2回入力したパスワードが ちがいます", field="password2")
    if len(display_name) > 100:
        raise Invalid("%(max_length)s文字以内で入力してください", field="display_name", max_length=100)


def create_account(*, session: Session, household_id: int, username: str, password: str, display_name: str) -> User:
    """Consume the household's code and create its resident account."""
    now = utcnow()
    session.exec(
        update(ResidentAccessCode)
        .where(ResidentAccessCode.household_id == household_id, ResidentAccessCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    data = UserCreate(
        username=username,
        password=password,
        role=Role.resident,
        household_id=household_id,
        display_name=display_name or "住民・家族",
        organisation="",
    )
    return auth.create_user(session=session, data=data)  # commits the code's use with the account


def reset_household(*, session: Session, household_id: int) -> int:
    """Staff: end every resident account and session of the household and void its code; returns accounts ended."""
    now = utcnow()
    users = session.exec(
        select(User).where(User.household_id == household_id, User.role == Role.resident, User.is_active)
    ).all()
    for user in users:
        user.is_active = False
        session.add(user)
    if users:
        session.exec(
            update(AuthSession)
            .where(AuthSession.user_id.in_([u.id for u in users]), AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    session.exec(
        update(ResidentAccessCode)
        .where(ResidentAccessCode.household_id == household_id, ResidentAccessCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.commit()
    return len(users)


def accounts(*, session: Session, household_id: int) -> list[User]:
    """The household's resident accounts, newest first."""
    return list(
        session.exec(
            select(User).where(User.household_id == household_id, User.role == Role.resident).order_by(User.id.desc())
        )
    )


def has_live_code(*, session: Session, household_id: int) -> bool:
    return (
        session.exec(
            select(ResidentAccessCode.id).where(
                ResidentAccessCode.household_id == household_id, ResidentAccessCode.revoked_at.is_(None)
            )
        ).first()
        is not None
    )
