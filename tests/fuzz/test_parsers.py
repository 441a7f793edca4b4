"""Property tests on every parser of outside input (issue 9): QR text, CSV rows, 和暦 dates, FHIR bodies.

Whatever arrives, each parser answers with its own error type (or a translated problem), never a crash.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import cbor2
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from app.cards.cose import decode_sign1
from app.cards.credential import Status, decode_claims, verify
from app.cards.errors import MalformedCredential
from app.cards.qr import cose_from_qr, qr_segments, segments_text
from app.core.wareki import WarekiError, format_seireki, format_wareki, parse_date
from app.directory.models import Institution
from app.imports import parser
from app.network import clients
from tests.imports.conftest import HEADER, row

pytestmark = pytest.mark.fuzz

BASE = "https://ll.city.kazo.lg.jp"
SOME = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# --- card credential: QR text → COSE_Sign1 → CWT claims -------------------------------------------

cbor_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(-10, 10) | st.text(max_size=4), inner, max_size=5)
        | st.builds(lambda v: cbor2.CBORTag(18, v), inner)
    ),
    max_leaves=20,
)


def _cbor(value) -> bytes:
    try:
        return cbor2.dumps(value)
    except (ValueError, TypeError, OverflowError):
        assume(False)


@given(st.binary(max_size=400) | cbor_values.map(_cbor))
def test_cose_decoding_raises_only_malformed_credential(data):
    try:
        sign1 = decode_sign1(data)
    except MalformedCredential:
        return
    try:
        decode_claims(sign1.payload)
    except MalformedCredential:
        pass


@given(cbor_values.map(_cbor))
def test_claims_decoding_raises_only_malformed_credential(payload):
    try:
        decode_claims(payload)
    except MalformedCredential:
        pass


@given(
    st.one_of(
        st.text(max_size=300),
        st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
        st.from_regex(r"\A(HTTPS|https|HTTP)://[A-Za-z0-9.:-]{1,30}/[Cc]/[0-9]{0,320}(\?.{0,5})?\Z"),
    )
)
def test_qr_text_raises_only_malformed_credential(text):
    try:
        cose_from_qr(text)
    except MalformedCredential:
        pass


@given(cbor_values.map(_cbor) | st.binary(min_size=1, max_size=200))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_laid_out_as_a_card_qr_never_verify_and_never_raise(keystore_for_fuzz, data):
    assume(data[0] != 0)  # a COSE_Sign1 never starts with 0x00; the layout refuses it
    text = segments_text(qr_segments(data, base_url=BASE))
    result = verify(text, keys=keystore_for_fuzz.verification_keys(), revocations=None, now=1_800_000_000)
    assert result.status != Status.GENUINE


@pytest.fixture(scope="module")
def keystore_for_fuzz(tmp_path_factory):
    from app.cards.keystore import KeyStore

    store = KeyStore(tmp_path_factory.mktemp("keys"))
    store.ensure_active()
    return store


# --- 和暦 dates ---------------------------------------------------------------------------------

dates = st.dates(min_value=date(1868, 10, 23), max_value=date(2100, 12, 31))
ERA_LETTERS = {"明治": "M", "大正": "T", "昭和": "S", "平成": "H", "令和": "R"}


@given(dates)
def test_every_written_form_of_a_date_round_trips(d):
    assert parse_date(format_wareki(d)) == d
    assert parse_date(format_seireki(d)) == d
    assert parse_date(d.isoformat()) == d
    assert parse_date(f"{d.year}/{d.month}/{d.day}") == d
    era, rest = format_wareki(d)[:2], format_wareki(d)[2:]
    year = rest.split("年")[0].replace("元", "1")
    assert parse_date(f"{ERA_LETTERS[era]}{year}.{d.month}.{d.day}") == d
    # Full-width digits, as a Japanese keyboard types them.
    assert parse_date(d.isoformat().translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))) == d


@given(
    st.sampled_from([*ERA_LETTERS, *ERA_LETTERS.values(), ""]),
    st.integers(-5, 120),
    st.integers(-1, 14),
    st.integers(-1, 33),
    st.sampled_from(["{e}{y}年{m}月{d}日", "{e}{y}.{m}.{d}", "{e}{y}/{m}/{d}", "{e}{y}-{m}-{d}", "{y}{m:02d}{d:02d}"]),
)
def test_date_like_text_raises_only_wareki_error(era, year, month, day, pattern):
    text = pattern.format(e=era, y=year, m=month, d=day)
    try:
        parsed = parse_date(text)
    except WarekiError as exc:
        assert exc.code
        return
    assert date(1868, 1, 1) <= parsed <= date(2200, 12, 31)


@given(st.text(max_size=60) | st.binary(max_size=60).map(lambda b: b.decode("cp932", "replace")))
def test_any_text_raises_only_wareki_error(text):
    try:
        parse_date(text)
    except WarekiError:
        pass


# --- CSV import rows ------------------------------------------------------------------------------

cells = st.text(max_size=30) | st.sampled_from(
    [
        "",
        " ",
        "昭和15年3月2日",
        "S99.1.1",
        "男",
        "女",
        "9",
        "347-0000",
        "0480-00-0001",
        '"',
        "'",
        "=cmd|' /C calc'!A0",
        "\u3000",
        "𠮷",
        "髙",
        "\ufeff",
    ]
)
encodings = st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16", "latin-1", "euc-jp"])


def _encode(rows: list[list[str]], header: list[str], encoding: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    return buf.getvalue().encode(encoding, "replace")


def _assert_translatable(parsed: parser.Parsed) -> None:
    from app.core.i18n import gettext

    for problem in parsed.problems + parsed.notices:
        assert problem.message and gettext(problem.message, **problem.params)


@given(
    st.lists(st.lists(cells, min_size=0, max_size=16), max_size=6),
    encodings,
    st.sampled_from([HEADER, HEADER[:5], HEADER + ["不明な列"], [h.replace("氏", "姓") for h in HEADER]]),
)
@settings(max_examples=150, deadline=None)
def test_csv_rows_give_row_problems_never_exceptions(rows, encoding, header):
    data = _encode(rows, header, encoding)
    try:
        parsed = parser.read(data)
    except parser.FileRejected as exc:
        assert exc.problem.message
        return
    _assert_translatable(parsed)


@given(st.binary(max_size=600))
def test_arbitrary_bytes_give_a_file_problem_never_exceptions(data):
    try:
        parsed = parser.read(data)
    except parser.FileRejected:
        return
    _assert_translatable(parsed)


# NUL anywhere makes the whole file "not a CSV" by design (tested above), so these cells have none.
@given(st.lists(st.tuples(st.integers(0, len(HEADER) - 1), cells.filter(lambda c: "\x00" not in c)), max_size=5))
@settings(max_examples=150, deadline=None)
def test_one_bad_cell_in_a_good_file_is_a_problem_on_its_line(changes):
    record = row()
    for index, value in changes:
        record[index] = value
    parsed = parser.read(_encode([row(person="7000009", household="700009"), record], HEADER, "utf-8"))
    _assert_translatable(parsed)
    assert all(p.line in (None, 2, 3) for p in parsed.problems)


# --- FHIR input -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=15,
)
RESOURCE_TYPES = ["AllergyIntolerance", "Condition", "MedicationStatement"]


def _shaped(resource_type: str, patient, text, extra: dict) -> dict:
    concept = {"text": text, "coding": [{"system": "urn:oid:1.2.392.100495.20.1.73", "code": text, "display": text}]}
    body = {
        "resourceType": resource_type,
        "patient" if resource_type == "AllergyIntolerance" else "subject": {"reference": patient},
        "medicationCodeableConcept" if resource_type == "MedicationStatement" else "code": concept,
        **extra,
    }
    if resource_type == "MedicationStatement":
        body.setdefault("status", "active")
    return body


shaped_bodies = st.builds(
    _shaped,
    st.sampled_from(RESOURCE_TYPES),
    st.one_of(st.just("Patient/1"), st.from_regex(r"\APatient/[0-9]{0,25}\Z"), st.text(max_size=20), json_values),
    st.one_of(st.text(max_size=600), st.sampled_from(["", "   ", "\x00", "ペニシリン\n", "a" * 501]), json_values),
    st.dictionaries(
        st.sampled_from(["category", "extension", "dosage", "clinicalStatus", "status", "id", "meta", "text"]),
        json_values,
        max_size=3,
    ),
)


@pytest.fixture
def fhir_http(app, db, make, personas):
    """A network client's session; the persona patient consents to sharing, so valid bodies are stored (201)."""
    make.consent(personas.patient)
    hospital = Institution(name="見本総合病院（試験）", kind="hospital")
    db.add(hospital)
    db.commit()
    client, secret = clients.create(session=db, institution_id=hospital.id, created_by="テスト")
    token, _ = clients.issue_token(session=db, client_id=client.client_id, client_secret=secret)
    with TestClient(app, base_url="http://testserver") as http:
        http.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"})
        yield http


@given(
    resource_type=st.sampled_from(RESOURCE_TYPES), body=st.one_of(json_values, shaped_bodies, st.binary(max_size=50))
)
@SOME
def test_fhir_create_answers_any_body_with_a_4xx_operation_outcome(fhir_http, personas, resource_type, body):
    content = (
        body
        if isinstance(body, bytes)
        else json.dumps(body, ensure_ascii=False).replace('Patient/1"', f'Patient/{personas.patient.id}"').encode()
    )
    r = fhir_http.post(f"/fhir/r4/{resource_type}", content=content)
    assert r.status_code < 500, r.text
    event("stored" if r.status_code in (200, 201) else f"refused {r.status_code}")
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/fhir+json")
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["diagnostics"]
