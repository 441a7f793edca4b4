"""Japanese era (和暦) dates: parse what clerks and residents type, format for display.

Accepted: ``昭和15年3月2日``, ``昭和元年12月25日``, ``S15.3.2`` / ``s15/3/2`` / ``昭15-3-2``,
``1940-03-02`` / ``1940/3/2`` / ``1940年3月2日`` / ``19400302``, full-width digits and
letters, the era ligatures (``㍼``). A date outside its era (``昭和65年``) is refused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    start: date
    end: date | None  # last day, inclusive


ERAS: tuple[Era, ...] = (
    Era("令和", "R", date(2019, 5, 1), None),
    Era("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    Era("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    Era("大正", "T", date(1912, 7, 30), date(1926, 12, 24)),
    Era("明治", "M", date(1868, 1, 1), date(1912, 7, 29)),
)
_BY_KEY = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS} | {e.name[0]: e for e in ERAS}


class WarekiError(ValueError):
    """The text is not a date we can read; ``code`` names the reason for translation."""

    def __init__(self, code: str, text: str):
        super().__init__(f"{code}: {text!r}")
        self.code = code
        self.text = text


_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−ー－ｰ/．.年月"), "-")
_ERA_RE = re.compile(
    r"^(?P<era>明治|大正|昭和|平成|令和|[明大昭平令MTSHR])\s*(?P<y>元|\d{1,2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})日?$"
)
_ISO_RE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})日?$")
_COMPACT_RE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")


def _normalise(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).strip().upper()
    s = re.sub(r"\s+", "", s)
    s = s.translate(_DASHES).rstrip("-")
    return s


def _make(y: int, m: int, d: int, text: str) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise WarekiError("invalid_day", text) from None


def parse_date(text: str) -> date:
    """Parse a 和暦 or 西暦 date; raise :class:`WarekiError` with a reason code."""
    if text is None or not str(text).strip():
        raise WarekiError("empty", text or "")
    s = _normalise(str(text))
    if m := _ERA_RE.match(s):
        era = _BY_KEY[m["era"]]
        year_in_era = 1 if m["y"] == "元" else int(m["y"])
        if year_in_era < 1:
            raise WarekiError("out_of_era", text)
        result = _make(era.start.year + year_in_era - 1, int(m["m"]), int(m["d"]), text)
        if result < era.start or (era.end is not None and result > era.end):
            raise WarekiError("out_of_era", text)
        return result
    if m := (_ISO_RE.match(s) or _COMPACT_RE.match(s)):
        return _make(int(m["y"]), int(m["m"]), int(m["d"]), text)
    raise WarekiError("unreadable", text)


def era_of(d: date) -> Era:
    for era in ERAS:
        if d >= era.start:
            return era
    raise ValueError(f"{d} is before 明治")


def format_wareki(d: date) -> str:
    """``1940-03-02`` → ``昭和15年3月2日`` (``元年`` for the first year)."""
    era = era_of(d)
    y = d.year - era.start.year + 1
    return f"{era.name}{'元' if y == 1 else y}年{d.month}月{d.day}日"


def format_seireki(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def age_on(birth: date, today: date) -> int:
    """Age in completed years (a person born on 29 February ages on 1 March in common years)."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
