"""Password rules, in one place (MHLW guideline 6.0, Q&A シQ-54), for every way a password is set.

The Q&A lists as hard to guess: (a) 13 or more characters mixing letters, digits and symbols;
(c) with two-factor sign-in, 8 or more such characters. Its option (b), 8 characters changed
every two months, is not offered: forced changes breed guessable passwords (NIST SP 800-63B,
cited by the same Q&A). Names and common words are to be avoided: the user name and display name
are refused, and so is anything zxcvbn (Dropbox's estimator: dictionaries of common passwords,
words and names, keyboard walks, dates, repeats, l33t spellings) guesses in fewer than 10^8 tries,
with the service's own names (city, region, product) added to its dictionaries.

"Letters" are any alphabetic characters, kana and kanji included, so a Japanese passphrase with
a digit or a space in it qualifies; a space counts as a symbol.
"""

from __future__ import annotations

import unicodedata

from zxcvbn import zxcvbn

from app.auth.models import Role
from app.core.errors import Invalid

MIN_LENGTH_WITH_SECOND_FACTOR = 8
MIN_LENGTH_ALONE = 13
# zxcvbn's score 3: "safely unguessable", at least 10^8 guesses (its authors' advice for sign-up).
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching is quadratic); the first 72 characters decide.
ZXCVBN_MAX = 72
# What an attacker of this service tries first, beyond zxcvbn's own lists.
LOCAL_WORDS = (
    "kazo",
    "kazoshi",
    "tone",
    "saitama",
    "lifeline",
    "tonelifeline",
    "gyoda",
    "hanyu",
    "kuki",
    "hasuda",
    "satte",
    "shiraoka",
    "miyashiro",
    "sugito",
    "kyukyu",
    "kinkyu",
    "shobo",
)


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


def guessable(password: str, *, hints: list[str]) -> bool:
    """True when zxcvbn expects fewer than 10^8 guesses (``Password1!``, ``1qaz2wsx``, ``kazo-2026``).

    NFKC first, so full-width ``Ｐａｓｓｗｏｒｄ１`` is judged as what it is. ``hints``: the user's
    own names, searched like a dictionary.
    """
    text = unicodedata.normalize("NFKC", password)[:ZXCVBN_MAX]
    return zxcvbn(text, user_inputs=[*hints, *LOCAL_WORDS])["score"] < MIN_SCORE


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
    if guessable(password, hints=names):
        raise Invalid("よく使われるパスワードや単純なパスワードは使えません。別のものにしてください", field="password")
