"""Two staff edit the same person or household: the second save is refused with a clear 409 that
shows both versions field by field, the second editor's input is kept, and nothing is lost.

The first tests race two signed-in clients (web form and JSON API); the last ones commit from two
threads at the same moment against a database of their own (tests/committing_database.py), not the
rolled-back test transaction, to show that the database itself refuses the lost update.
"""

from __future__ import annotations

import re
import threading
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func
from sqlmodel import Session, select

from app import bootstrap
from app.audit.models import AuditEvent
from app.core.errors import StaleVersion
from app.history.models import Change
from app.households import service as households
from app.households.models import Household, HouseholdCreate, HouseholdUpdate
from app.persons import service as persons
from app.persons.models import Person, PersonCreate, PersonUpdate
from tests.committing_database import engine_for, scratch_database
from tests.factories import FACTORY_ACTOR


def form_of(page: str) -> dict[str, str]:
    """The text inputs and hidden fields of a rendered form, as a browser would send them back."""
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    fields |= {name: value for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page)}
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)"\s+selected', options)
        fields[name] = chosen.group(1) if chosen else ""
    fields.pop("csrftoken", None)
    return {k: v.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&") for k, v in fields.items()}


def conflict_rows(page: str) -> dict[str, tuple[str, str]]:
    """field -> (your input, stored) from the conflict table."""
    rows = re.findall(r'<tr data-field="([^"]+)"><th scope="row">[^<]*</th><td>([^<]*)</td><td>([^<]*)</td></tr>', page)
    return {field: (yours, stored) for field, yours, stored in rows}


def test_second_web_editor_of_a_person_sees_both_versions_and_keeps_their_input(login, personas, make, db):
    person = make.person(given_name="競合", phone="")
    first, second = login(personas.staff), login(personas.admin)
    seen_by_first = form_of(first.get(f"/staff/persons/{person.id}/edit").text)
    seen_by_second = form_of(second.get(f"/staff/persons/{person.id}/edit").text)
    assert seen_by_first["version"] == seen_by_second["version"] == "1"

    saved = first.post(
        f"/staff/persons/{person.id}/edit",
        data=seen_by_first | {"dnar_status": "exists", "dnar_location": "冷蔵庫のキット内"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    mine = seen_by_second | {"phone": "090-0000-4321", "usual_state": "杖歩行"}
    refused = second.post(f"/staff/persons/{person.id}/edit", data=mine)
    assert refused.status_code == 409
    assert "この方の情報は他の利用者が先に更新しました" in refused.text
    rows = conflict_rows(refused.text)
    # Both versions, field by field: what the second editor typed and what the first one saved.
    assert rows["phone"] == ("090-0000-4321", "（空欄）") and rows["usual_state"] == ("杖歩行", "（空欄）")
    assert rows["dnar_status"] == ("未確認", "あり") and rows["dnar_location"] == ("（空欄）", "冷蔵庫のキット内")
    assert "family_name" not in rows
    # Nothing lost: the input is still in the form, now carrying the stored version's number.
    kept = form_of(refused.text)
    assert kept["phone"] == "090-0000-4321" and kept["usual_state"] == "杖歩行" and kept["version"] == "2"
    db.expire_all()
    assert db.get(Person, person.id).dnar_location == "冷蔵庫のキット内"
    # Showing the stored dataset was a read of it, and audited as one.
    assert (
        db.exec(
            select(AuditEvent).where(
                AuditEvent.person_id == person.id, AuditEvent.action == "person.view", AuditEvent.fields == "conflict"
            )
        ).first()
        is not None
    )

    # The second editor takes over the first one's change and saves again.
    merged = second.post(
        f"/staff/persons/{person.id}/edit",
        data=kept | {"dnar_status": "exists", "dnar_location": "冷蔵庫のキット内"},
        follow_redirects=False,
    )
    assert merged.status_code == 303
    db.expire_all()
    stored = db.get(Person, person.id)
    assert (stored.phone, stored.usual_state, stored.dnar_location, stored.version) == (
        "090-0000-4321",
        "杖歩行",
        "冷蔵庫のキット内",
        3,
    )
    changed = {c.field for c in db.exec(select(Change).where(Change.person_id == person.id, Change.action == "update"))}
    assert {"dnar_status", "dnar_location", "phone", "usual_state"} <= changed


def test_second_api_editor_of_a_person_gets_a_409_problem_with_the_stored_version(login, personas, make, db):
    person = make.person(given_name="競合API")
    first, second = login(personas.staff), login(personas.admin)
    second.get("/lang/en")
    seen = first.get(f"/api/v1/persons/{person.id}").json()
    body = {k: v for k, v in seen.items() if k in PersonUpdate.model_fields}
    assert first.put(f"/api/v1/persons/{person.id}", json=body | {"blood_abo": "O"}).status_code == 200

    stale = second.put(f"/api/v1/persons/{person.id}", json=body | {"infection_notes": "なし"})
    assert stale.status_code == 409 and stale.headers["content-type"] == "application/problem+json"
    problem = stale.json()
    assert problem["status"] == 409 and problem["title"] == "Edit conflict"
    assert "updated" in problem["detail"] and "先に更新" not in problem["detail"]  # translated
    assert (
        problem["current_version"] == 2
        and problem["current"]["blood_abo"] == "O"
        and problem["current"]["id"] == person.id
    )
    assert sorted(problem["conflicting_fields"]) == ["blood_abo", "infection_notes"]

    again = second.put(
        f"/api/v1/persons/{person.id}",
        json=body | {"infection_notes": "なし", "blood_abo": "O", "version": problem["current_version"]},
    )
    assert again.status_code == 200 and again.json()["version"] == 3
    db.expire_all()
    assert (db.get(Person, person.id).blood_abo, db.get(Person, person.id).infection_notes) == ("O", "なし")


def test_a_bearer_client_gets_the_same_problem(app, personas, make, db):
    from app.auth import service as auth

    household = make.household(address_line="見本町600-1")
    token, _ = auth.start_session(session=db, user=personas.staff, kind="api")
    with TestClient(app, base_url="http://testserver", headers={"authorization": f"Bearer {token}"}) as api:
        seen = api.get(f"/api/v1/households/{household.id}").json()
        body = {k: v for k, v in seen.items() if k in HouseholdUpdate.model_fields}
        assert api.put(f"/api/v1/households/{household.id}", json=body | {"building": "見本荘1号"}).status_code == 200
        stale = api.put(f"/api/v1/households/{household.id}", json=body | {"notes": "鍵は隣家"})
    assert stale.status_code == 409
    problem = stale.json()
    assert problem["current"]["building"] == "見本荘1号" and problem["current_version"] == 2
    assert sorted(problem["conflicting_fields"]) == ["building", "notes"]


def test_second_web_editor_of_a_household_can_reapply_after_the_conflict(login, personas, make, db):
    household = make.household(address_line="見本町700-1")
    first, second = login(personas.staff), login(personas.admin)
    seen_by_first = form_of(first.get(f"/staff/households/{household.id}/edit").text)
    seen_by_second = form_of(second.get(f"/staff/households/{household.id}/edit").text)
    assert (
        first.post(
            f"/staff/households/{household.id}/edit",
            data=seen_by_first | {"welfare_commissioner": "民生 一子"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    refused = second.post(f"/staff/households/{household.id}/edit", data=seen_by_second | {"building": "見本荘2号"})
    assert refused.status_code == 409 and "この世帯は他の職員が先に更新しました" in refused.text
    assert conflict_rows(refused.text) == {
        "building": ("見本荘2号", "（空欄）"),
        "welfare_commissioner": ("（空欄）", "民生 一子"),
    }
    kept = form_of(refused.text)
    assert kept["building"] == "見本荘2号" and kept["version"] == "2"
    assert (
        second.post(
            f"/staff/households/{household.id}/edit",
            data=kept | {"welfare_commissioner": "民生 一子"},
            follow_redirects=False,
        ).status_code
        == 303
    )
    db.expire_all()
    stored = db.get(Household, household.id)
    assert (stored.building, stored.welfare_commissioner, stored.version) == ("見本荘2号", "民生 一子", 3)


# --- two writers committing at the same moment, on a database of their own ---------------------


@pytest.fixture
def own_engine(tmp_path):
    with scratch_database(tmp_path) as url:
        engine = engine_for(url, tmp_path)
        bootstrap.prepare_database(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def race(engine, save_a, save_b) -> list[str]:
    """Run both saves in their own thread and session; both commit only once both have read and checked."""
    barrier = threading.Barrier(2, timeout=60)
    outcomes: dict[str, str] = {}

    def worker(name, save):
        with Session(engine) as session:
            # Both have read the row and passed the service's version check; now both write at once.
            event.listen(session, "before_commit", lambda _s: barrier.wait())
            try:
                save(session)
                outcomes[name] = "saved"
            except StaleVersion as exc:
                outcomes[name] = f"conflict v{exc.current.version}"
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcomes[name] = repr(exc)

    threads = [threading.Thread(target=worker, args=(name, save)) for name, save in (("a", save_a), ("b", save_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return [outcomes.get("a", "hung"), outcomes.get("b", "hung")]


def test_simultaneous_commits_to_a_person_lose_no_update(own_engine):
    with Session(own_engine) as session:
        household = households.create(
            session=session, actor=FACTORY_ACTOR, data=HouseholdCreate(address_line="見本町800-1")
        )
        person = persons.create(
            session=session,
            actor=FACTORY_ACTOR,
            household_id=household.id,
            data=PersonCreate(
                family_name="見本",
                given_name="同時",
                family_name_kana="ミホン",
                given_name_kana="ドウジ",
                birth_date=date(1940, 3, 2),
            ),
        )
        person_id = person.id
    for round_ in range(1, 6):
        with Session(own_engine) as session:
            base = persons.get(session=session, person_id=person_id).model_dump(
                include=set(PersonUpdate.model_fields) - {"version"}
            )
        values = {"a": f"A{round_}", "b": f"B{round_}"}

        def save(name, base=base, values=values, round_=round_):
            return lambda session: persons.update(
                session=session,
                actor=FACTORY_ACTOR,
                person_id=person_id,
                data=PersonUpdate(**base | {"usual_state": values[name]}, version=round_),
            )

        outcomes = race(own_engine, save("a"), save("b"))
        assert sorted(outcomes) == [f"conflict v{round_ + 1}", "saved"], outcomes
        winner = "a" if outcomes[0] == "saved" else "b"
        with Session(own_engine) as session:
            stored = persons.get(session=session, person_id=person_id)
            assert (stored.usual_state, stored.version) == (values[winner], round_ + 1)
            # Exactly one update recorded per round: the refused one left no trace but its 409.
            assert (
                session.exec(
                    select(func.count())
                    .select_from(Change)
                    .where(Change.person_id == person_id, Change.field == "usual_state")
                ).one()
                == round_
            )


def test_simultaneous_commits_to_a_household_lose_no_update(own_engine):
    with Session(own_engine) as session:
        household_id = households.create(
            session=session, actor=FACTORY_ACTOR, data=HouseholdCreate(address_line="見本町900-1")
        ).id
    with Session(own_engine) as session:
        base = households.get(session=session, household_id=household_id).model_dump(
            include=set(HouseholdUpdate.model_fields) - {"version"}
        )

    def save(notes):
        return lambda session: households.update(
            session=session,
            actor=FACTORY_ACTOR,
            household_id=household_id,
            data=HouseholdUpdate(**base | {"notes": notes}, version=1),
        )

    outcomes = race(own_engine, save("Aの変更"), save("Bの変更"))
    assert sorted(outcomes) == ["conflict v2", "saved"], outcomes
    with Session(own_engine) as session:
        stored = households.get(session=session, household_id=household_id)
        assert stored.version == 2 and stored.notes == ("Aの変更" if outcomes[0] == "saved" else "Bの変更")
