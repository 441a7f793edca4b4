"""Whatever the file, a clear translated problem or an exact import — never a crash, never a partial write."""

from __future__ import annotations

import json
import random

import pytest
from sqlmodel import select

from app.core.config import get_settings
from app.core.i18n import current_language
from app.imports import parser
from app.imports.models import ImportStatus
from app.persons.models import Person
from tests.imports.conftest import HEADER, problems, row, to_csv

ENCODING_MESSAGE = "文字コードを判別できません（UTF-8 または Shift_JIS(CP932) で保存してください）"
BINARY_MESSAGE = (
    "CSV ではないファイルのようです（NUL 文字が含まれています）。UTF-8 または Shift_JIS(CP932) の CSV を選んでください"
)
ROWS = [row(family="髙橋"), row(person="7000002", family="山﨑", given="花子")]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp932"])
def test_utf8_with_or_without_bom_and_cp932_import_the_same(run_import, db, encoding):
    job = run_import(to_csv(ROWS, encoding=encoding))
    assert (job.status, job.created) == (ImportStatus.done, 2)
    names = {p.family_name for p in db.exec(select(Person).where(Person.external_ref.in_(["7000001", "7000002"])))}
    assert names == {"髙橋", "山﨑"}


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "ファイルが空です"),
        (b"\xef\xbb\xbf\r\n\r\n", "ファイルが空です"),
        (to_csv(ROWS, encoding="utf-16"), ENCODING_MESSAGE),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", BINARY_MESSAGE),
        (random.Random(7).randbytes(4096), BINARY_MESSAGE),
        (bytes(range(128, 256)) * 8, ENCODING_MESSAGE),
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            "Excel のファイルは読み込めません。Excel で「CSV」形式で保存してから選んでください",
        ),
        (to_csv([row(family="見本\x00太郎")]), BINARY_MESSAGE),
    ],
)
def test_unreadable_files_get_one_clear_problem(run_import, table_counts, data, message):
    before = table_counts()
    job = run_import(data)
    assert job.status == ImportStatus.failed
    assert problems(job) == [(None, "", message)]
    assert table_counts() == before


def test_problems_are_translated_when_shown_in_english(run_import):
    job = run_import(b"")
    token = current_language.set("en")
    try:
        assert problems(job)[0][2] != "ファイルが空です"
    finally:
        current_language.reset(token)


def test_a_file_over_the_size_limit_is_refused(run_import, monkeypatch):
    monkeypatch.setattr(get_settings(), "max_upload_bytes", 1024 * 1024)
    job = run_import(to_csv(ROWS) + b"," * (1024 * 1024))
    assert problems(job) == [(None, "", "ファイルが大きすぎます（上限 1 MB）。分割して取り込んでください")]


@pytest.mark.parametrize(
    "header,rows,expected",
    [
        (HEADER, [], [(2, "", "データの行がありません（見出しの行だけです）")]),
        ([h for h in HEADER if h != "氏カナ"], [row()[:4] + row()[5:]], [(1, "氏カナ", "必須の列がありません")]),
        (
            ["a", "b", "c"],
            [["1", "2", "3"]],
            [
                (
                    1,
                    "",
                    "見出しの行に知っている列名がありません。1行目が見出しか、文字コード（UTF-8 または Shift_JIS）"
                    "を確認してください",
                )
            ],
        ),
        (HEADER + ["family_name"], [row() + ["x"]], [(1, "family_name", "同じ意味の列が2つあります（氏）")]),
        (HEADER, [row() + ["", "余分"]], [(2, "", "見出しより列の多い行です（16列）")]),
    ],
)
def test_header_and_shape_problems(run_import, table_counts, header, rows, expected):
    before = table_counts()
    job = run_import(to_csv(rows, header=header))
    assert problems(job) == expected
    assert table_counts() == before


def test_extra_columns_are_ignored_with_a_notice_and_headers_may_be_english_or_reordered(run_import, db):
    header = [
        "birth_date",
        "person_ref",
        "household_ref",
        "family_name",
        "family_name_kana",
        "address_line",
        "備考",
        "個人番号",
    ]
    job = run_import(
        to_csv([["S15.3.2", "7000001", "700001", "見本", "ミホン", "見本町1-1", "メモ", "123456789012"]], header=header)
    )
    assert (job.status, job.created) == (ImportStatus.done, 1)
    assert [(n["line"], n["column"]) for n in json.loads(job.notices)] == [(1, "備考"), (1, "個人番号")]
    assert db.exec(select(Person).where(Person.external_ref == "7000001")).one().given_name == ""


def test_quoted_line_breaks_do_not_shift_line_numbers_and_are_refused_in_a_cell(run_import):
    rows = [row(building="見本ハイツ\n101号"), row(person="7000002", born="昭和65年1月1日")]
    job = run_import(to_csv(rows))
    assert problems(job) == [
        (2, "方書", "改行や制御文字（NULなど）は使えません"),
        (3, "生年月日", "その元号にその年はありません（例：昭和は64年まで）"),
    ]


def test_unterminated_quote_and_control_characters(run_import):
    text = to_csv([row(given="a\x07b")]).decode("utf-8-sig")
    assert problems(run_import(text.encode()))[0] == (2, "名", "改行や制御文字（NULなど）は使えません")
    broken = to_csv([row()]) + '700002,"7000002,見本'.encode()
    assert problems(run_import(broken)) == [(3, "", 'CSV として読めません（引用符「"」の閉じ忘れなど）')]


HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "&amp; & </para> <b>",
    "見本😀👵",
    "𠮷野",
    "髙﨑",
    'O\'Brien "quoted"',
    "ｶﾀｶﾅ",
    "  前後の空白は除く  ",
]


def test_hostile_names_are_stored_exactly(run_import, db):
    rows = [row(person=str(7000001 + i), family=name) for i, name in enumerate(HOSTILE_NAMES)]
    job = run_import(to_csv(rows))
    assert (job.status, job.created) == (ImportStatus.done, len(HOSTILE_NAMES))
    stored = {p.external_ref: p.family_name for p in db.exec(select(Person).where(Person.external_ref.like("70000%")))}
    assert [stored[str(7000001 + i)] for i in range(len(HOSTILE_NAMES))] == HOSTILE_NAMES[:-1] + ["前後の空白は除く"]


@pytest.mark.parametrize(
    "cell,column,message",
    [
        ("長" * 2000, "氏", "50文字以内で入力してください"),
        ("<script>", "世帯番号", "番号は40文字以内の半角英数字とハイフンで入力してください"),
        ("1" * 41, "宛名番号", "番号は40文字以内の半角英数字とハイフンで入力してください"),
        ("見本", "氏カナ", "フリガナはカタカナかひらがなで入力してください"),
        ("347-00", "郵便番号", "郵便番号は7桁で入力してください"),
        ("そのうち", "生年月日", "日付として読み取れません（例：昭和15年3月2日、S15.3.2、1940-03-02）"),
        ("2999-01-01", "生年月日", "生年月日が未来の日付です"),
    ],
)
def test_bad_cells_are_refused_with_their_column(run_import, table_counts, cell, column, message):
    values = row()
    values[HEADER.index(column)] = cell
    before = table_counts()
    assert problems(run_import(to_csv([values]))) == [(2, column, message)]
    assert table_counts() == before


def test_full_width_numbers_are_normalised_but_names_are_not():
    data = to_csv(
        [
            row(
                household="７００００１",
                person="７０００００１",
                family="ＡＢＣ",
                postal="３４７ー００００",
                phone="（０４８０）００ー０００１",
                address="見本町１ー２ ハイツー",
            )
        ]
    )
    parsed = parser.read(data)
    assert parsed.problems == []
    group = parsed.groups[0]
    assert (group.ref, group.rows[0].ref, group.rows[0].data.family_name) == ("700001", "7000001", "ＡＢＣ")
    assert (group.data.postal_code, group.data.phone, group.data.address_line) == (
        "347-0000",
        "(0480)00-0001",
        "見本町1-2 ハイツー",
    )
