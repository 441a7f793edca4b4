"""Japanese-first translations: message ids are the Japanese text, ``locale/en.po`` has English.

The active language is per request (cookie ``lang``), held in a context variable so that
services, templates and error handlers all translate the same way.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("ja", "en")
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
current_language: ContextVar[str] = ContextVar("current_language", default="ja")


@lru_cache
def _catalog(lang: str) -> dict[str, str]:
    path = LOCALE_DIR / f"{lang}.po"
    if lang == "ja" or not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh)
    return {m.id: m.string for m in catalog if m.id and m.string and isinstance(m.id, str)}


def gettext(message: str, **params) -> str:
    text = _catalog(current_language.get()).get(message, message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params) -> str:
    params.setdefault("num", n)
    return gettext(singular if n == 1 else plural, **params)


_ = gettext


def pick_language(cookie: str | None, query: str | None, default: str) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return default
