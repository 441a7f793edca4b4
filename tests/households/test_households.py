"""Households: elderly-only status, the kit worklist, editing with optimistic locking."""

from datetime import date

from sqlmodel import select

from app.history.models import Change
from app.households import service as households
from app.persons.models import PersonStatus


def test_elderly_only_is_derived_from_ages_today(make, db):
    h = make.household()
    make.person(h, birth_date=date(1961, 4, 1))
    members = households.members(session=db, household_id=h.id)
    assert households.is_elderly_only(members, today=date(2026, 4, 1))  # 65th birthday today
    assert not households.is_elderly_only(members, today=date(2026, 3, 31))
    make.person(h, birth_date=date(1990, 1, 1))
    members = households.members(session=db, household_id=h.id)
    assert not households.is_elderly_only(members, today=date(2026, 4, 1))
    assert not households.is_elderly_only([], today=date(2026, 4, 1))


def test_moved_or_deceased_members_do_not_count(make, db):
    h = make.household()
    make.person(h, birth_date=date(1940, 1, 1))
    make.person(h, birth_date=date(1995, 1, 1), status=PersonStatus.moved)
    assert households.is_elderly_only(households.members(session=db, household_id=h.id), today=date(2026, 11, 24))


def test_pending_kit_worklist(make, db):
    elderly = make.household(address_line="見本町100-1")
    make.person(elderly, birth_date=date(1940, 1, 1))
    mixed = make.household(address_line="見本町100-2")
    make.person(mixed, birth_date=date(1940, 1, 1))
    make.person(mixed, birth_date=date(2000, 1, 1))
    delivered = make.household(address_line="見本町100-3", kit_delivered_on=date(2026, 4, 1))
    make.person(delivered, birth_date=date(1940, 1, 1))
    empty = make.household(address_line="見本町100-4")
    ids = {h.id for h in households.list_households(session=db, pending_kit=True, today=date(2026, 11, 24))}
    assert elderly.id in ids and not {mixed.id, delivered.id, empty.id} & ids


def test_kit_worklist_page_and_mark_delivered(login, personas, make, db):
    h = make.household(address_line="見本町200-1")
    make.person(h, birth_date=date(1940, 1, 1))
    c = login(personas.staff)
    assert "見本町200-1" in c.get("/staff/kits/pending").text
    r = c.post(
        f"/staff/households/{h.id}/kit-delivered", data={"delivered_on": "令和8年11月1日"}, follow_redirects=False
    )
    assert r.status_code == 303
    db.refresh(h)
    assert h.kit_delivered_on == date(2026, 11, 1)
    assert "見本町200-1" not in c.get("/staff/kits/pending").text
    bad = c.post(f"/staff/households/{h.id}/kit-delivered", data={"delivered_on": "昭和65年1月1日"})
    assert bad.status_code == 422 and "その元号にその年はありません" in bad.text


def test_create_household_through_the_form(login, personas, db):
    c = login(personas.staff)
    r = c.post(
        "/staff/households",
        data={
            "address_line": "見本町300-1",
            "postal_code": "３４７－００００",
            "phone": "０４８０－００－３０００",
            "prefecture": "埼玉県",
            "municipality": "加須市",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert "見本町300-1" in page.text and "347-0000" in page.text and "0480-00-3000" in page.text


def test_form_errors_are_clear_and_keep_input(login, personas):
    c = login(personas.staff)
    r = c.post("/staff/households", data={"address_line": "", "postal_code": "12", "phone": "12"})
    assert r.status_code == 422
    assert (
        "入力してください" in r.text
        and "郵便番号は7桁で入力してください" in r.text
        and "電話番号の桁数が正しくありません" in r.text
    )


def test_concurrent_edits_conflict_and_lose_nothing(login, personas, make, db):
    h = make.household(address_line="見本町400-1")
    c1, c2 = login(personas.staff), login(personas.admin)
    base = {"address_line": "見本町400-1", "prefecture": "埼玉県", "municipality": "加須市", "version": str(h.version)}
    first = c1.post(f"/staff/households/{h.id}/edit", data={**base, "building": "見本荘1号"}, follow_redirects=False)
    assert first.status_code == 303
    second = c2.post(f"/staff/households/{h.id}/edit", data={**base, "building": "見本荘2号"})
    assert second.status_code == 409
    assert "他の職員が先に更新しました" in second.text
    assert "見本荘1号" in second.text and "見本荘2号" in second.text  # both versions shown
    db.refresh(h)
    assert h.building == "見本荘1号"


def test_api_update_conflict_and_history(login, personas, make, db):
    h = make.household(address_line="見本町500-1")
    c = login(personas.staff)
    body = c.get(f"/api/v1/households/{h.id}").json()
    ok = c.put(f"/api/v1/households/{h.id}", json={**body, "welfare_commissioner": "民生 委子"})
    assert ok.status_code == 200 and ok.json()["version"] == body["version"] + 1
    stale = c.put(f"/api/v1/households/{h.id}", json={**body, "welfare_commissioner": "別の人"})
    assert stale.status_code == 409 and "先に更新" in stale.json()["detail"]
    change = db.exec(select(Change).where(Change.household_id == h.id, Change.field == "welfare_commissioner")).one()
    assert change.old_value == "" and change.new_value == "民生 委子" and change.actor == personas.staff.display_name
