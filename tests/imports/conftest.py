"""Helpers for import tests: fictional registry rows, CSV bytes in any encoding, a job runner."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.core.i18n import gettext
from app.core.models import Actor, Source
from app.history.models import Change
from app.households.models import Household
from app.imports import service
from app.imports.models import ImportJob
from app.persons.models import Person

HEADER = [
    "世帯番号",
    "宛名番号",
    "氏",
    "名",
    "氏カナ",
    "名カナ",
    "生年月日",
    "性別",
    "郵便番号",
    "市区町村",
    "町名番地",
    "方書",
    "電話番号",
    "担当民生委員",
]
IMPORT_ACTOR = Actor(user_id=None, name="取込テスト", source=Source.imported)


def row(
    household="700001",
    person="7000001",
    family="見本",
    given="太郎",
    family_kana="ミホン",
    given_kana="タロウ",
    born="昭和15年3月2日",
    sex="男",
    postal="347-0000",
    municipality="加須市",
    address="見本町1-1",
    building="",
    phone="0480-00-0001",
    commissioner="架空 民子",
) -> list[str]:
    """One fictional registry row in HEADER order."""
    return [
        household,
        person,
        family,
        given,
        family_kana,
        given_kana,
        born,
        sex,
        postal,
        municipality,
        address,
        building,
        phone,
        commissioner,
    ]


def to_csv(rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


ERAS = {"昭和": 1925, "大正": 1911}
WIDE = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _registry_rows(n: int) -> tuple[list[list[str]], dict[str, date]]:
    rows, born = [], {}
    families = [("髙橋", "タカハシ"), ("山﨑", "ヤマサキ"), ("見本", "ミホン"), ("架空", "カクウ")]
    for i in range(n):
        era = "大正" if i % 5 == 0 else "昭和"
        year, month, day = 2 + i % 13, 1 + i % 12, 1 + i % 28
        expected = date(ERAS[era] + year, month, day)
        text = (
            f"{era}{year}年{month}月{day}日",
            f"{'T' if era == '大正' else 'S'}{year}.{month}.{day}",
            f"{expected.year}-{month:02d}-{day:02d}",
        )[i % 3]
        if i % 4 == 0:
            text = text.translate(WIDE)  # full-width digits and hyphens, as typed on a Japanese keyboard
        family, kana = families[i % len(families)]
        household = str(800000 + i // 2)
        rows.append(
            row(
                household=household,
                person=str(8000000 + i),
                family=family,
                given=f"試{i}",
                family_kana=kana,
                given_kana="タメシ",
                born=text,
                sex=("男", "女", "1", "2")[i % 4],
                postal="３４７－００００",
                address=f"見本町{i // 2 % 50}－{i // 100 + 1}",
                phone=f"０４８０－００－{i // 2 % 10000:04d}",
            )
        )
        born[str(8000000 + i)] = expected
    return rows, born


@pytest.fixture
def registry_rows():
    """``registry_rows(n)`` → (rows, born): ``n`` fictional rows, two people per household, with 和暦
    dates in several spellings, and each person's birth date as it should be stored."""
    return _registry_rows


@pytest.fixture
def run_import(connection):
    """``run_import(data, dry_run=False)`` → the finished ImportJob (run on the test connection)."""

    def _run(data: bytes, *, dry_run: bool = False, actor: Actor = IMPORT_ACTOR) -> ImportJob:
        job = service.create_job(engine=connection, actor=actor, filename="test.csv", dry_run=dry_run)
        return service.run_import(engine=connection, job_id=job.id, data=data, actor=actor)

    return _run


@pytest.fixture
def table_counts(db):
    """``table_counts()`` → rows in the tables an import may write (not the job table)."""

    def _counts() -> dict[str, int]:
        return {
            model.__name__: db.exec(select(func.count()).select_from(model)).one()
            for model in (Household, Person, Change)
        }

    return _counts


def problems(job: ImportJob) -> list[tuple]:
    """The job's problems as (line, column, message), the message translated to the current language."""
    return [(p["line"], p["column"], gettext(p["message"], **p["params"])) for p in json.loads(job.errors)]
