"""Password rules, in one place (MHLW guideline 6.0, Q&A シQ-54), for every way a password is set.

The Q&A lists as hard to guess: (a) 13 or more characters mixing letters, digits and symbols;
(c) with two-factor sign-in, 8 or more such characters. Its option (b), 8 characters changed
every two months, is not offered: forced changes breed guessable passwords (NIST SP 800-63B,
cited by the same Q&A). Names and common words are to be avoided, so the user name, the display
name and the commonest passwords are refused too.

"Letters" are any alphabetic characters, kana and kanji included, so a Japanese passphrase with
a digit or a space in it qualifies; a space counts as a symbol.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from app.auth.models import Role
from app.core.errors import Invalid

MIN_LENGTH_WITH_SECOND_FACTOR = 8
MIN_LENGTH_ALONE = 13
MIN_DISTINCT = 5
COMMON_FILE = Path(__file__).resolve().parents[1] / "data" / "common-passwords.txt"
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


@lru_cache
def _common() -> frozenset[str]:
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def has_second_factor(*, role: Role, totp_enabled: bool) -> bool:
    """Whether the account signs in with more than its password.

    Staff, doctors and admins must use TOTP; a crew member's enrolled device is theirs; network
    clients never sign in with a password. Residents have one only if they turned TOTP on.
    """
    return role != Role.resident or totp_enabled


def _classes(password: str) -> int:
    letters = any(c.isalpha() for c in password)
    digits = any(c.isdigit() for c in password)
    others = any(not c.isalnum() for c in password)
    return letters + digits + others


def is_common(password: str) -> bool:
    """True for a listed password, or one that is a listed word dressed up (``P@ssw0rd2024!``)."""
    lowered = unicodedata.normalize("NFKC", password).lower()
    core = lowered.strip("0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").translate(_LEET)
    return lowered in _common() or core in _common() or len(core) < 3


def check_rules(*, password: str, username: str, second_factor: bool, display_name: str = "") -> None:
    """Refuse a password the account may not have; raises Invalid with a translated message id."""
    minimum = MIN_LENGTH_WITH_SECOND_FACTOR if second_factor else MIN_LENGTH_ALONE
    if len(password) < minimum:
        raise Invalid("パスワードは%(minimum)s文字以上にしてください", field="password", minimum=minimum)
    if _classes(password) < 2:
        raise Invalid("パスワードには、文字と数字（または記号）を混ぜてください", field="password")
    lowered = password.lower()
    names = [username, *display_name.split()]
    if any(len(name) >= 3 and name.lower() in lowered for name in names):
        raise Invalid("パスワードにユーザー名や名前を含めないでください", field="password")
    if len(set(password)) < MIN_DISTINCT or is_common(password):
        raise Invalid("よく使われるパスワードや単純なパスワードは使えません。別のものにしてください", field="password")
