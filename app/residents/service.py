"""Issue and check resident access codes (the residents' sign-in itself lives elsewhere).

A code is 12 characters from a 32-letter alphabet without look-alikes (60 bits). It is
hashed with Argon2id at a far lower cost than passwords (≈ 0.5 ms instead of ≈ 130 ms): the
memory-hard RFC 9106 parameters protect guessable secrets, while a random 60-bit code takes
2^59 tries on average, over 10^5 core-years at half a millisecond each; and a kit batch hashes one code
per household. Online guessing is for the sign-in's rate limits.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, update
from sqlmodel import Session, select

from app.core.clock import utcnow
from app.residents.models import ResidentAccessCode

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LENGTH = 12
_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# Checked against when there is no live code, so the time taken does not tell.
_DUMMY = _hasher.hash(ALPHABET[:LENGTH])


def new_code() -> str:
    """A fresh random code (plaintext, shown once)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(code: str) -> str:
    """What a person types, as stored: full-width and lower case accepted, hyphens and spaces ignored."""
    text = unicodedata.normalize("NFKC", code or "").upper()
    return "".join(c for c in text if c.isalnum())


def hash_code(code: str) -> str:
    return _hasher.hash(normalise(code))


def store_codes(*, session: Session, codes: Sequence[tuple[int, str]], now: datetime | None = None) -> None:
    """Make each (household id, code hash) the household's only live code; the caller commits."""
    now = now or utcnow()
    ids = [household_id for household_id, _ in codes]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        session.exec(
            update(ResidentAccessCode)
            .where(ResidentAccessCode.household_id.in_(chunk), ResidentAccessCode.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    if codes:
        session.exec(
            insert(ResidentAccessCode), params=[{"household_id": h, "code_hash": c, "issued_at": now} for h, c in codes]
        )


def issue_access_code(*, session: Session, household_id: int, commit: bool = True) -> str:
    """Revoke the household's earlier codes and return a new one in plaintext (print it, never store it)."""
    code = new_code()
    store_codes(session=session, codes=[(household_id, hash_code(code))])
    if commit:
        session.commit()
    return code


def verify_access_code(*, session: Session, household_id: int, code: str) -> bool:
    """True when ``code`` is the household's live code."""
    row = session.exec(
        select(ResidentAccessCode)
        .where(ResidentAccessCode.household_id == household_id, ResidentAccessCode.revoked_at.is_(None))
        .order_by(ResidentAccessCode.id.desc())
    ).first()
    candidate = normalise(code)
    usable = row is not None and len(candidate) == LENGTH
    try:
        return _hasher.verify(row.code_hash if usable else _DUMMY, candidate) and usable
    except (VerificationError, InvalidHashError):
        return False
