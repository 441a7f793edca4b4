"""Normalisation for search keys and typed numbers. Names themselves are stored as given."""

from __future__ import annotations

import re
import unicodedata

_HIRA_TO_KATA = {c: c + 0x60 for c in range(ord("ぁ"), ord("ゖ") + 1)}
_HYPHENS = dict.fromkeys(map(ord, "‐‑‒–—―−ーｰ－"), "-")
# C0/C1 control characters other than tab/newline; NUL in particular breaks PostgreSQL text.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def kana_key(text: str | None) -> str:
    """Search key for furigana: half-width → full-width, hiragana → katakana, no spaces."""
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", text).translate(_HIRA_TO_KATA)
    return re.sub(r"\s+", "", s)


# Common 異体字 folded for search only, so typing 高橋 finds 髙橋; stored names never change.
_VARIANTS = str.maketrans("髙﨑邊邉濵齋齊德", "高崎辺辺浜斎斉徳")


def name_key(text: str | None) -> str:
    """Search key for kanji names: spaces removed, common variant characters folded."""
    return re.sub(r"\s+", "", text or "").translate(_VARIANTS)


def digits(text: str | None) -> str:
    """Only the digits of a phone or postal number, full-width accepted."""
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text or ""))


def normalise_number(text: str | None) -> str:
    """Full-width digits and the many hyphen look-alikes to ASCII, spaces trimmed."""
    return unicodedata.normalize("NFKC", text or "").translate(_HYPHENS).strip()


def has_control_chars(text: str) -> bool:
    return bool(_CONTROL_RE.search(text))


def is_kana(text: str) -> bool:
    """True when ``text`` is katakana/hiragana (spaces and the long-vowel mark allowed)."""
    key = kana_key(text)
    return bool(key) and all("ァ" <= c <= "ヺ" or c in "ー・=＝" for c in key)


def strip_control(text: str) -> str:
    """``text`` without control characters (for search input, where refusing helps nobody)."""
    return _CONTROL_RE.sub("", text)
