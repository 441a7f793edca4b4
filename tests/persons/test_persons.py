"""Persons: search, history of every change, dataset entries, consent, encryption at rest."""

from datetime import date

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.history.models import Change
from app.persons import service as persons


@pytest.fixture
def people(make):
    h1 = make.household(address_line="見本町騎西1-1", phone="0480-00-7777")
    taro = make.person(
        h1,
        family_name="見本",
        given_name="太郎",
        family_name_kana="ミホン",
        given_name_kana="タロウ",
        birth_date=date(1940, 3, 2),
    )
    h2 = make.household(address_line="架空台9-9")
    taka = make.person(
        h2,
        family_name="髙橋",
        given_name="試子",
        family_name_kana="タカハシ",
        given_name_kana="タメコ",
        birth_date=date(1945, 8, 15),
        phone="090-0000-1234",
    )
    return taro, taka


@pytest.mark.parametrize(
    "query,who",
    [
        ("みほん", 0),
        ("ﾐﾎﾝ ﾀﾛｳ", 0),
        ("ミホン　タロウ", 0),
        ("見本 太郎", 0),
        ("騎西", 0),
        ("7777", 0),
        ("０４８０－００－７７７７", 0),
        ("昭和15年3月2日", 0),
        ("S15.3.2", 0),
        ("1940-03-02", 0),
        ("高橋", 1),
        ("髙橋", 1),
        ("たかはし", 1),
        ("1234", 1),
        ("S20.8.15", 1),
    ],
)
def test_search_finds_by_every_key(db, people, query, who):
    found = [p.id for p, _ in persons.search(session=db, query=query)]
    assert people[who].id in found
    assert people[1 - who].id not in found


def test_search_ignores_empty_and_survives_junk(db, people):
    assert persons.search(session=db, query="   ") == []
    for junk in ("%", "_", "'; drop table person; --", "\\", "昭和65年1月1日", "x" * 5000):
        persons.search(session=db, query=junk)


def test_search_api_returns_summaries_without_medical_data(login, personas, people):
    response = login(personas.staff).get("/api/v1/persons", params={"q": "ミホン"})
    assert response.status_code == 200
    [found] = [row for row in response.json() if row["id"] == people[0].id]
    assert found["household_id"] == people[0].household_id
    assert found["address"].endswith("見本町騎西1-1") and found["family_name_kana"] == "ミホン"
    assert set(found) == {
        "id",
        "household_id",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "birth_date",
        "address",
    }


def test_search_page_and_htmx_fragment(login, personas, people):
    c = login(personas.staff)
    fragment = c.get("/staff/search", params={"q": "みほん"}, headers={"hx-request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "見本 太郎" in fragment.text
    none = c.get("/staff/search", params={"q": "ゾゾゾ"}, headers={"hx-request": "true"})
    assert "に一致する方はいません" in none.text
    full = c.get("/staff/", params={"q": "みほん"})
    assert "見本 太郎" in full.text


def test_edit_person_records_old_and_new_values(login, personas, db):
    person = personas.patient
    c = login(personas.staff)
    form = c.get(f"/staff/persons/{person.id}/edit")
    assert form.status_code == 200
    data = {
        "family_name": person.family_name,
        "given_name": person.given_name,
        "family_name_kana": "ミホン",
        "given_name_kana": "シケン",
        "birth_date": "S15.3.2",
        "sex": "female",
        "status": "active",
        "dnar_status": "exists",
        "dnar_location": "冷蔵庫",
        "blood_abo": "unknown",
        "blood_rh": "unknown",
        "phone": "",
        "version": str(person.version),
    }
    r = c.post(f"/staff/persons/{person.id}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    db.refresh(person)
    assert person.sex == "female" and person.dnar_location == "冷蔵庫" and person.version == 2
    assert person.last_confirmed_by == personas.staff.display_name
    history = c.get(f"/staff/persons/{person.id}/history").text
    assert "冷蔵庫" in history and "女性" in history and personas.staff.display_name in history
    changes = {
        c.field: c for c in db.exec(select(Change).where(Change.person_id == person.id, Change.action == "update"))
    }
    assert changes["sex"].old_value == "unknown" and changes["sex"].new_value == "female"


def test_entries_contacts_and_consent_through_the_ui(login, personas, db):
    person = personas.patient
    c = login(personas.staff)
    r = c.post(
        f"/staff/persons/{person.id}/entries",
        data={"kind": "medication", "text": "ワルファリン錠1mg", "is_anticoagulant": "true", "category": "regular"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(f"/staff/persons/{person.id}").text
    assert "ワルファリン錠1mg" in page and "抗凝固薬" in page
    wrong = c.post(
        f"/staff/persons/{person.id}/entries", data={"kind": "allergy", "text": "そば", "is_insulin": "true"}
    )
    assert wrong.status_code == 422 and "インスリンの印は薬にだけ" in wrong.text
    empty = c.post(f"/staff/persons/{person.id}/entries", data={"kind": "allergy", "text": ""})
    assert empty.status_code == 422
    assert (
        c.post(
            f"/staff/persons/{person.id}/contacts",
            data={"name": "見本 花江", "relation": "長女", "phone": "090-0000-0001"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert "見本 花江" in c.get(f"/staff/persons/{person.id}").text
    assert (
        c.post(
            f"/staff/persons/{person.id}/consent",
            data={"consented_on": "令和8年4月1日", "method": "written"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    again = c.post(f"/staff/persons/{person.id}/consent", data={"consented_on": "令和8年4月1日", "method": "written"})
    assert again.status_code == 422 and "既に記録" in again.text
    assert (
        c.post(
            f"/staff/persons/{person.id}/consent/withdraw", data={"reason": "本人の申し出"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert "現在有効な同意がありません" in c.get(f"/staff/persons/{person.id}").text
    entities = {ch.entity for ch in db.exec(select(Change).where(Change.person_id == person.id))}
    assert {"clinical", "contact", "consent"} <= entities


def test_register_person_requires_consent(login, personas, db):
    c = login(personas.staff)
    data = {
        "family_name": "見本",
        "given_name": "新",
        "family_name_kana": "ミホン",
        "given_name_kana": "シン",
        "birth_date": "昭和20年1月1日",
        "consented_on": "令和8年11月1日",
        "consent_method": "written",
    }
    missing = c.post(f"/staff/households/{personas.household.id}/persons", data=data)
    assert missing.status_code == 422 and "同意を得てから登録してください" in missing.text
    r = c.post(
        f"/staff/households/{personas.household.id}/persons",
        data={**data, "consent_given": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "昭和20年1月1日" in page and "1945年1月1日" in page and "同意あり" in page


def test_ended_entries_leave_the_view_but_stay_in_history(login, personas, make, db):
    entry = make.entry(personas.patient, text="ロキソプロフェン")
    c = login(personas.staff)
    c.post(f"/staff/entries/{entry.id}/status", data={"status": "ended"})
    assert "ロキソプロフェン" not in c.get(f"/staff/persons/{personas.patient.id}").text
    assert (
        "ロキソプロフェン" in c.get(f"/staff/persons/{personas.patient.id}/history").text
        or db.get(type(entry), entry.id).status == "ended"
    )


def test_medical_fields_are_encrypted_at_rest(make, db):
    person = make.person(acp_notes="延命治療は望まない", insurer_number="39110000")
    make.entry(person, text="ワルファリン秘密")
    raw = db.exec(text("SELECT acp_notes, insurer_number FROM person WHERE id = :id").bindparams(id=person.id)).one()
    assert all(v.startswith("enc1:") for v in raw)
    entry_raw = db.exec(text("SELECT text FROM clinicalentry WHERE person_id = :id").bindparams(id=person.id)).one()[0]
    assert entry_raw.startswith("enc1:") and "ワルファリン" not in entry_raw
    changes = db.exec(
        text("SELECT new_value FROM change WHERE person_id = :id AND new_value IS NOT NULL").bindparams(id=person.id)
    ).all()
    assert changes and all(row[0].startswith("enc1:") for row in changes)


def test_free_text_beside_the_dataset_is_encrypted_and_every_page_reads_it(login, personas, db, make):
    """Household memo, contact note and withdrawal reason are stored sealed, shown in clear."""
    household = make.household(notes="透析は火木土（架空）")
    person = make.person(household)
    make.consent(person)
    c = login(personas.staff)
    contact = {"name": "見本 花江", "relation": "長女", "phone": "090-0000-0001", "note": "平日日中は勤務先"}
    assert c.post(f"/staff/persons/{person.id}/contacts", data=contact, follow_redirects=False).status_code == 303
    assert (
        c.post(
            f"/staff/persons/{person.id}/consent/withdraw", data={"reason": "入院のため"}, follow_redirects=False
        ).status_code
        == 303
    )

    for sql in (
        "SELECT notes FROM household WHERE id = :id",
        "SELECT note FROM emergencycontact WHERE person_id = :id",
        "SELECT withdrawal_reason FROM consent WHERE person_id = :id",
    ):
        stored = db.exec(text(sql).bindparams(id=household.id if "household" in sql else person.id)).one()[0]
        assert stored.startswith("enc1:"), sql
    assert "透析は火木土（架空）" in c.get(f"/staff/households/{household.id}").text
    page = c.get(f"/staff/persons/{person.id}").text
    assert "平日日中は勤務先" in page and "入院のため" in page


def test_a_concurrent_writer_is_detected_at_write_time(make, db, engine):
    """Two editors both saw version 1; the database itself refuses the second UPDATE."""
    from sqlalchemy import update

    from app.core.errors import Conflict
    from app.persons.models import Person, PersonUpdate
    from tests.factories import FACTORY_ACTOR

    person = make.person(given_name="一")
    seen = PersonUpdate.model_validate({**person.model_dump(), "given_name": "二", "version": 1})
    # Another editor commits between our read and our write.
    db.exec(update(Person).where(Person.id == person.id).values(version=2, given_name="三"))
    with pytest.raises(Conflict):
        persons.update(session=db, actor=FACTORY_ACTOR, person_id=person.id, data=seen)
    db.expire_all()
    assert db.get(Person, person.id).given_name == "三"
