"""Vocabulary of the registry extract: headers and aliases, code values, character tables.

Data, not UI text: nothing here is translated (scripts/i18n_catalog.py skips this module).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from app.persons.models import Sex


@dataclass(frozen=True)
class Column:
    key: str  # the model field (or household_ref / person_ref)
    header: str  # the header as documented in docs/import-format.md
    required: bool
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("household_ref", "世帯番号", True, ("household_ref", "世帯コード")),
    Column("person_ref", "宛名番号", True, ("person_ref", "宛名コード", "個人コード")),
    Column("family_name", "氏", True, ("family_name", "姓")),
    Column("given_name", "名", False, ("given_name",)),
    Column("family_name_kana", "氏カナ", True, ("family_name_kana", "氏フリガナ", "フリガナ氏", "姓カナ")),
    Column("given_name_kana", "名カナ", False, ("given_name_kana", "名フリガナ", "フリガナ名")),
    Column("birth_date", "生年月日", True, ("birth_date",)),
    Column("sex", "性別", False, ("sex",)),
    Column("postal_code", "郵便番号", False, ("postal_code",)),
    Column("prefecture", "都道府県", False, ("prefecture",)),
    Column("municipality", "市区町村", False, ("municipality",)),
    Column("address_line", "町名番地", True, ("address_line", "住所", "町名・番地")),
    Column("building", "方書", False, ("building", "建物名", "建物名・部屋番号")),
    Column("phone", "電話番号", False, ("phone", "電話")),
    Column("welfare_commissioner", "担当民生委員", False, ("welfare_commissioner", "民生委員")),
    Column(
        "welfare_commissioner_phone", "民生委員電話番号", False, ("welfare_commissioner_phone", "担当民生委員電話番号")
    ),
)
REQUIRED = tuple(c.header for c in COLUMNS if c.required)
PERSON_FIELDS = ("family_name", "given_name", "family_name_kana", "given_name_kana", "birth_date", "sex")
HOUSEHOLD_FIELDS = (
    "postal_code",
    "prefecture",
    "municipality",
    "address_line",
    "building",
    "phone",
    "welfare_commissioner",
    "welfare_commissioner_phone",
)

# Spaces, middle dots, brackets and separators vary between exports: 氏（カナ）, 町名・番地, birth-date.
_NOISE_RE = re.compile(r"[\s・･_\-()（）\[\]「」]")


def _key(name: str) -> str:
    return _NOISE_RE.sub("", unicodedata.normalize("NFKC", name)).lower()


_BY_NAME = {_key(name): c for c in COLUMNS for name in (c.header, *c.aliases)}


def match_header(name: str) -> Column | None:
    """The column a header names, or None for a column we do not import."""
    return _BY_NAME.get(_key(name))


SEX_CODES = {
    "男": Sex.male,
    "男性": Sex.male,
    "1": Sex.male,
    "m": Sex.male,
    "male": Sex.male,
    "女": Sex.female,
    "女性": Sex.female,
    "2": Sex.female,
    "f": Sex.female,
    "female": Sex.female,
    "その他": Sex.other,
    "other": Sex.other,
    "不明": Sex.unknown,
    "unknown": Sex.unknown,
}

# Full-width digits and a dash between digits (騎西１－１, 1ー2) are typing variants of 1-1;
# the rest of an address is kept exactly (a katakana ー in ハイツ must stay).
WIDE_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
DIGIT_DASH_RE = re.compile(r"(?<=\d)[‐‑‒–—―−ー－ｰ](?=\d)")

# Valid stand-ins for cells already reported, so the rest of the row is still checked.
PLACEHOLDERS = {"family_name": "-", "family_name_kana": "ア", "birth_date": date(1900, 1, 1), "address_line": "-"}


def header_of(key: str) -> str:
    """The documented header of a column key."""
    return next(c.header for c in COLUMNS if c.key == key)
