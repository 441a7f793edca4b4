"""Hostile input is stored exactly or refused with a clear message — never a 500 — and always escaped."""

import pytest
from sqlmodel import select

from app.audit.models import AuditReview
from app.core.db import NUL_MESSAGE
from app.core.errors import Invalid
from app.directory.models import Institution
from app.persons.models import Person
from tests.audit.conftest import crew_view

SCRIPT = "<script>alert(1)</script>"
HOSTILE_NAMES = [SCRIPT, "&amp; & </para> <b>", "見本😀👵", "𠮷野", "髙﨑", 'O\'Brien "quoted"', "ｶﾀｶﾅ"]


def _person_form(**overrides):
    return {
        "family_name": "見本",
        "given_name": "試",
        "family_name_kana": "ミホン",
        "given_name_kana": "シ",
        "birth_date": "昭和20年1月1日",
        "consent_given": "1",
        "consented_on": "令和8年4月1日",
        "consent_method": "written",
    } | overrides


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_stored_exactly_and_rendered_escaped(login, personas, db, name):
    c = login(personas.staff)
    r = c.post(
        f"/staff/households/{personas.household.id}/persons",
        data=_person_form(family_name=name),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    person = db.exec(select(Person).where(Person.family_name == name)).one()
    assert person.family_name == name  # not normalised, not truncated
    for page in (
        c.get(r.headers["location"]).text,
        c.get(f"/staff/households/{personas.household.id}").text,
        c.get("/staff/search", params={"q": name}, headers={"hx-request": "true"}).text,
    ):
        assert SCRIPT not in page and "<b>" not in page.replace("<body", "")
    if name == SCRIPT:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in c.get(r.headers["location"]).text


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("family_name", "長" * 2000, "50文字以内で入力してください"),
        ("family_name", "見本\x00太郎", "制御文字（NULなど）は使えません"),
        ("acp_notes", "a\x07b", "制御文字（NULなど）は使えません"),
        ("birth_date", "昭和65年1月1日", "その元号にその年はありません"),
        ("birth_date", "2026-02-30", "存在しない日付です"),
        ("birth_date", "そのうち", "日付として読み取れません"),
        ("family_name_kana", "見本", "フリガナはカタカナかひらがなで入力してください"),
        ("insurer_number", "12ab", "保険者番号は6桁または8桁の数字です"),
        ("sex", "robot", "選択肢から選んでください"),
        ("family_doctor_id", "abc", "数字で入力してください"),
    ],
)
def test_bad_form_input_gets_a_clear_message_and_writes_nothing(login, personas, db, field, value, message):
    c = login(personas.staff)
    before = len(db.exec(select(Person)).all())
    r = c.post(f"/staff/households/{personas.household.id}/persons", data=_person_form(**{field: value}))
    assert r.status_code == 422
    assert message in r.text
    assert len(db.exec(select(Person)).all()) == before


def test_unknown_doctor_is_refused_not_a_500(login, personas, db):
    c = login(personas.staff)
    r = c.post(f"/staff/households/{personas.household.id}/persons", data=_person_form(family_doctor_id="999999"))
    assert r.status_code in (404, 422) and "医師が見つかりません" in r.text


@pytest.mark.parametrize(
    "body,status",
    [
        ({"family_name": SCRIPT, "family_name_kana": "ミホン", "birth_date": "1940-03-02"}, 201),
        ({"family_name": "x" * 2000, "family_name_kana": "ミホン", "birth_date": "1940-03-02"}, 422),
        ({"family_name": "見本", "family_name_kana": "ミホン", "birth_date": "1989-02-30"}, 422),
        ({"family_name": "見本\u0000", "family_name_kana": "ミホン", "birth_date": "1940-03-02"}, 422),
        ({"family_name": ["list"], "family_name_kana": "ミホン", "birth_date": "1940-03-02"}, 422),
        ({}, 422),
    ],
)
def test_api_rejects_or_stores_exactly(login, personas, body, status):
    c = login(personas.staff)
    r = c.post(f"/api/v1/households/{personas.household.id}/persons", json=body)
    assert r.status_code == status
    if r.status_code == 201:
        assert r.json()["family_name"] == body["family_name"]
    else:
        assert r.json()["detail"]


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00garbage", b"family_name=%FF%FE", "family_name=見本".encode("cp932")])
def test_wrongly_encoded_forms_do_not_500(login, personas, raw):
    c = login(personas.staff)
    r = c.post(
        f"/staff/households/{personas.household.id}/persons",
        content=raw,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 422


def test_path_and_query_junk(login, personas):
    c = login(personas.staff)
    for url in (
        "/staff/persons/abc",
        "/staff/persons/99999999999999999999999",
        "/staff/persons/-1",
        "/api/v1/persons/1.5",
        "/staff/?q=" + "%00" * 10,
        "/staff/search?q=%F0%9F%98%80",
        "/lang/xx",
        "/login?next=javascript:alert(1)",
    ):
        assert c.get(url).status_code < 500, url
    # Past SQLite's 64-bit integers (found by schemathesis): refused as invalid, not a driver error.
    assert c.get("/api/v1/households", params={"limit": 1, "offset": 2**63}).status_code == 422


def test_a_nul_never_reaches_the_database(db):
    """The net under the models' own checks (app.core.db): a table model is not validated, the statement is refused."""
    db.add(Institution(name="見本\x00病院"))
    with pytest.raises(Invalid) as refused:
        db.commit()
    assert refused.value.message == NUL_MESSAGE
    db.rollback()
    assert db.exec(select(Institution).where(Institution.name.like("見本%病院"))).first() is None


def test_a_nul_in_a_form_no_model_checks_is_a_clear_error_not_a_500(personas, login, connection, db):
    """The doctor's review note goes to the database without a model of its own: the net answers."""
    event = crew_view(connection, personas.patient, emergency=True)
    r = login(personas.doctor).post(f"/doctor/access/{event.seq}/review", data={"note": "家族に確認\x00済み"})
    assert r.status_code == 422 and "入力に使えない文字（NUL）が含まれています" in r.text
    assert db.exec(select(AuditReview).where(AuditReview.event_seq == event.seq)).first() is None
