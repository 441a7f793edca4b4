"""Read a registry extract: detect the encoding, parse the CSV, validate every row.

Nothing here touches the database (``app.imports.plan`` compares with what is stored). Line
numbers are the row numbers a clerk sees in Excel: the header is line 1, and a quoted line
break inside a cell does not start a new row.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from app.core.clock import today_jst
from app.core.forms import WAREKI_MESSAGES, message_id
from app.core.text import normalise_number
from app.core.wareki import WarekiError, parse_date
from app.households.models import HouseholdCreate
from app.imports.columns import (
    COLUMNS,
    DIGIT_DASH_RE,
    HOUSEHOLD_FIELDS,
    PERSON_FIELDS,
    PLACEHOLDERS,
    SEX_CODES,
    WIDE_DIGITS,
    match_header,
)
from app.persons.models import PersonCreate, Sex

MISSING = "入力してください"
_REF_RE = re.compile(r"^[0-9A-Za-z-]{1,40}$")
# Besides C0/C1 controls, line breaks and tabs: every field of the extract is one line.
_BAD_CHARS_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Problem:
    """An error or notice: a line, a column (as headed in the file) and a message id."""

    line: int | None
    column: str
    message: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message, "params": self.params}


class FileRejected(Exception):
    """The file as a whole cannot be read (encoding, binary, empty, too large)."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.problem = Problem(None, "", message, params)


@dataclass
class PersonRow:
    line: int
    ref: str
    data: PersonCreate
    provided: frozenset[str]  # fields with a non-blank cell: only these may change stored data


@dataclass
class HouseholdGroup:
    ref: str
    line: int  # first line of the household
    values: dict = field(default_factory=dict)  # normalised non-blank household fields
    lines: dict = field(default_factory=dict)  # field -> line that gave its value
    rows: list[PersonRow] = field(default_factory=list)
    data: HouseholdCreate | None = None

    @property
    def provided(self) -> frozenset[str]:
        return frozenset(self.values) | {"external_ref"}


@dataclass
class Parsed:
    groups: list[HouseholdGroup]
    problems: list[Problem]
    notices: list[Problem]
    total_rows: int
    headers: dict[str, str] = field(default_factory=dict)  # column key -> header as written


def decode(data: bytes) -> str:
    """The text of an upload in UTF-8 (BOM optional) or CP932; :class:`FileRejected` otherwise."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise FileRejected("ファイルが空です")
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise FileRejected("Excel のファイルは読み込めません。Excel で「CSV」形式で保存してから選んでください")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected("文字コードを判別できません（UTF-8 または Shift_JIS(CP932) で保存してください）")
    if b"\x00" in data:
        raise FileRejected(
            "CSV ではないファイルのようです（NUL 文字が含まれています）。UTF-8 または Shift_JIS(CP932) の CSV "
            "を選んでください"
        )
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRejected("文字コードを判別できません（UTF-8 または Shift_JIS(CP932) で保存してください）")


class _Stop(Exception):
    """Parsing cannot go on; carries the one problem to report."""

    def __init__(self, problem: Problem):
        self.problem = problem


def _records(text: str) -> list[list[str]]:
    first = text.split("\n", 1)[0]
    # Tab-separated exports are common too; a comma-free header with tabs means TSV.
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append(record)
    except csv.Error as exc:
        line = len(records) + 1
        if "field larger" in str(exc):
            raise _Stop(Problem(line, "", "1つの欄が長すぎます")) from None
        raise _Stop(Problem(line, "", 'CSV として読めません（引用符「"」の閉じ忘れなど）')) from None
    return records


def read(data: bytes, *, progress: Progress | None = None) -> Parsed:
    """Decode, parse and validate the whole file, collecting every problem with its line."""
    try:
        records = _records(decode(data))
    except _Stop as stop:
        return Parsed([], [stop.problem], [], 0)
    header, rows = (records[0], records[1:]) if records else ([], [])
    columns, problems, notices = _header(header)
    body = [(n, r) for n, r in enumerate(rows, start=2) if any(c.strip() for c in r)]
    if problems:
        return Parsed([], problems, notices, len(body))
    if not body:
        return Parsed([], [Problem(2, "", "データの行がありません（見出しの行だけです）")], notices, 0)
    groups: dict[str, HouseholdGroup] = {}
    seen_refs: dict[str, int] = {}
    for done, (line, record) in enumerate(body, start=1):
        problems += _row(line, record, columns, len(header), groups, seen_refs)
        if progress and (done % 250 == 0 or done == len(body)):
            progress(done, len(body))
    for group in groups.values():
        problems += _finish_group(group, columns)
    headers = {key: header for key, (_index, header) in columns.items()}
    return Parsed(list(groups.values()), problems, notices, len(body), headers)


def _header(header: list[str]) -> tuple[dict[str, tuple[int, str]], list[Problem], list[Problem]]:
    """Map column keys to (index, header as written); report unknown, repeated and missing columns."""
    columns: dict[str, tuple[int, str]] = {}
    problems, notices = [], []
    for index, raw in enumerate(header):
        name = raw.strip().lstrip("\ufeff").strip()[:40]
        if not name:
            continue  # a trailing comma in the header: nothing to import there
        column = match_header(name)
        if column is None:
            notices.append(Problem(1, name, "この列は取り込みません（知らない列名です）"))
        elif column.key in columns:
            problems.append(
                Problem(1, name, "同じ意味の列が2つあります（%(other)s）", {"other": columns[column.key][1]})
            )
        else:
            columns[column.key] = (index, name)
    if not columns:
        return (
            columns,
            [
                Problem(
                    1,
                    "",
                    "見出しの行に知っている列名がありません。1行目が見出しか、文字コード（UTF-8 または Shift_JIS）"
                    "を確認してください",
                )
            ],
            notices,
        )
    for column in COLUMNS:
        if column.required and column.key not in columns:
            problems.append(Problem(1, column.header, "必須の列がありません"))
    return columns, problems, notices


def _row(line: int, record: list[str], columns: dict, width: int, groups: dict, seen_refs: dict) -> list[Problem]:
    """Validate one row and add its person to its household group."""
    problems: list[Problem] = []
    if any(c.strip() for c in record[width:]):
        problems.append(Problem(line, "", "見出しより列の多い行です（%(count)d列）", {"count": len(record)}))
    cells: dict[str, str] = {}
    failed: dict[str, str] = {}  # key -> column header, for fields already reported
    for key, (index, header) in columns.items():
        value = record[index].strip() if index < len(record) else ""
        if _BAD_CHARS_RE.search(value):
            problems.append(Problem(line, header, "改行や制御文字（NULなど）は使えません"))
            failed[key] = header
        elif value:
            cells[key] = value
    household_ref = _ref(line, cells, columns, "household_ref", failed, problems)
    person_ref = _ref(line, cells, columns, "person_ref", failed, problems)
    if person_ref:
        if person_ref in seen_refs:
            problems.append(
                Problem(
                    line,
                    columns["person_ref"][1],
                    "宛名番号が%(other)d行目と重複しています",
                    {"other": seen_refs[person_ref]},
                )
            )
        else:
            seen_refs[person_ref] = line
    person, provided = _person(line, cells, columns, failed, problems, person_ref)
    if household_ref:
        group = groups.setdefault(household_ref, HouseholdGroup(ref=household_ref, line=line))
        _household_values(line, cells, columns, failed, group, problems)
        if person is not None and person_ref and not problems:
            group.rows.append(PersonRow(line=line, ref=person_ref, data=person, provided=provided))
    return problems


def _ref(line: int, cells: dict, columns: dict, key: str, failed: dict, problems: list) -> str | None:
    if key in failed:
        return None
    header = columns[key][1]
    value = normalise_number(cells.get(key, ""))
    if not value:
        problems.append(Problem(line, header, MISSING))
    elif not _REF_RE.match(value):
        problems.append(Problem(line, header, "番号は40文字以内の半角英数字とハイフンで入力してください"))
    else:
        return value
    return None


def _person(
    line: int, cells: dict, columns: dict, failed: dict, problems: list, ref: str | None
) -> tuple[PersonCreate | None, frozenset[str]]:
    values: dict[str, object] = {k: cells[k] for k in PERSON_FIELDS if k in cells and k not in ("birth_date", "sex")}
    if ref:
        values["external_ref"] = ref
    if "birth_date" in cells:
        try:
            born = parse_date(cells["birth_date"])
        except WarekiError as exc:
            problems.append(
                Problem(line, columns["birth_date"][1], WAREKI_MESSAGES.get(exc.code, WAREKI_MESSAGES["unreadable"]))
            )
            failed["birth_date"] = columns["birth_date"][1]
        else:
            if born > today_jst():
                problems.append(Problem(line, columns["birth_date"][1], "生年月日が未来の日付です"))
                failed["birth_date"] = columns["birth_date"][1]
            values["birth_date"] = born
    if "sex" in cells:
        sex = SEX_CODES.get(unicodedata.normalize("NFKC", cells["sex"]).lower())
        if sex is None:
            problems.append(Problem(line, columns["sex"][1], "性別は 男・女・1・2 のいずれかで入力してください"))
            failed["sex"] = columns["sex"][1]
        values["sex"] = sex or Sex.unknown
    person, errors = _validate(PersonCreate, values, {k: v for k, v in PLACEHOLDERS.items() if k in failed})
    for name, (message, params) in errors.items():
        if name in columns and name not in failed:
            problems.append(Problem(line, columns[name][1], message, params))
    return person, frozenset(k for k in values if k not in failed)


def _household_values(
    line: int, cells: dict, columns: dict, failed: dict, group: HouseholdGroup, problems: list
) -> None:
    """Validate the household cells of a row and check they agree with the household's other rows."""
    values = {k: cells[k] for k in HOUSEHOLD_FIELDS if k in cells}
    for name in ("address_line", "building"):
        if name in values:
            values[name] = DIGIT_DASH_RE.sub("-", values[name].translate(WIDE_DIGITS))
    placeholders = {"address_line": PLACEHOLDERS["address_line"]} if "address_line" not in values else {}
    household, errors = _validate(HouseholdCreate, values, placeholders)
    for name, (message, params) in errors.items():
        if name in columns and name not in failed:
            problems.append(Problem(line, columns[name][1], message, params))
        failed.setdefault(name, name)
    if household is None:
        # Compare the cells that are valid, so one bad cell does not also report a mismatch.
        values = {k: v for k, v in values.items() if k not in failed}
        household, _ = _validate(HouseholdCreate, values, {"address_line": PLACEHOLDERS["address_line"]})
        if household is None:
            return
    for name in values:
        if name in failed:
            continue
        value = getattr(household, name)
        if name not in group.values:
            group.values[name], group.lines[name] = value, line
        elif group.values[name] != value:
            problems.append(
                Problem(
                    line, columns[name][1], "同じ世帯番号の%(other)d行目と内容が違います", {"other": group.lines[name]}
                )
            )


def _finish_group(group: HouseholdGroup, columns: dict) -> list[Problem]:
    if "address_line" not in group.values:
        return [Problem(group.line, columns["address_line"][1], MISSING)]
    group.data = HouseholdCreate.model_validate({"external_ref": group.ref, **group.values})
    return []


def _validate(model: type[BaseModel], values: dict, placeholders: dict):
    """Validate ``values`` (with ``placeholders`` for fields already reported); return (instance, errors)."""
    try:
        return model.model_validate(placeholders | values), {}
    except ValidationError as exc:
        errors: dict[str, tuple[str, dict]] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            errors.setdefault(name, message_id(error))
        return None, errors
