"""Helpers for import tests: fictional registry rows, CSV bytes in any encoding, a job runner."""

from __future__ import annotations

import csv
import io
import json

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
