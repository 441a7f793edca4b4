"""The import service on a real database: large CP932 files, all-or-nothing, idempotent re-runs."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from app.history.models import Change
from app.households.models import Household
from app.imports.models import ImportStatus
from app.persons.models import Person, Sex
from tests.imports.conftest import problems, row, to_csv


def test_5000_row_cp932_file_with_wareki_imports_and_a_second_run_changes_nothing(
    run_import, table_counts, registry_rows, db, tmp_path
):
    rows, born = registry_rows(5000)
    path = tmp_path / "registry.csv"
    path.write_bytes(to_csv(rows, encoding="cp932"))
    job = run_import(path.read_bytes())
    assert (job.status, problems(job)) == (ImportStatus.done, [])
    assert (job.total_rows, job.created, job.updated, job.unchanged) == (5000, 5000, 0, 0)
    assert (job.households_created, job.households_updated) == (2500, 0)

    takahashi = db.exec(select(Person).where(Person.external_ref == "8000000")).one()
    assert (takahashi.family_name, takahashi.given_name, takahashi.family_name_kana) == ("髙橋", "試0", "タカハシ")
    assert takahashi.birth_date == date(1913, 1, 1)  # "大正２年１月１日" in full-width digits
    assert takahashi.sex == Sex.male
    assert db.exec(select(Person).where(Person.external_ref == "8000001")).one().family_name == "山﨑"
    for ref in ("8000000", "8000007", "8000013", "8004999"):
        assert db.exec(select(Person).where(Person.external_ref == ref)).one().birth_date == born[ref]
    household = db.get(Household, takahashi.household_id)
    assert (household.external_ref, household.postal_code, household.address_line, household.phone) == (
        "800000",
        "347-0000",
        "見本町0-1",
        "0480-00-0000",
    )
    assert household.municipality == "加須市"
    creations = db.exec(select(Change).where(Change.person_id == takahashi.id)).all()
    assert [(c.action, c.source.value) for c in creations] == [("create", "import")]

    before = table_counts()
    again = run_import(path.read_bytes())
    assert (again.status, again.created, again.updated, again.unchanged) == (ImportStatus.done, 0, 0, 5000)
    assert (again.households_created, again.households_updated) == (0, 0)
    assert table_counts() == before


def test_faulty_rows_are_all_reported_with_line_and_column_and_nothing_is_written(run_import, table_counts):
    rows = [
        row(person="7000001"),  # line 2: fine
        row(person="7000002", born="昭和65年1月1日"),  # line 3
        row(person="7000003", family=""),  # line 4
        row(person="7000004", phone="0480-12"),  # line 5
        row(person="7000001", given="次郎"),  # line 6: repeats line 2's 宛名番号
        row(person="7000005", address="見本町9-9"),  # line 7: same household, other address
        row(household="700002", person="7000006", born="2026-02-30", sex="robot"),  # line 8
    ]
    before = table_counts()
    job = run_import(to_csv(rows))
    assert job.status == ImportStatus.failed
    assert problems(job) == [
        (3, "生年月日", "その元号にその年はありません（例：昭和は64年まで）"),
        (4, "氏", "入力してください"),
        (5, "電話番号", "電話番号の桁数が正しくありません"),
        (6, "宛名番号", "宛名番号が2行目と重複しています"),
        (7, "町名番地", "同じ世帯番号の2行目と内容が違います"),
        (8, "生年月日", "存在しない日付です"),
        (8, "性別", "性別は 男・女・1・2 のいずれかで入力してください"),
    ]
    assert job.error_count == 7
    assert table_counts() == before


def test_dry_run_reports_what_would_change_and_writes_nothing(run_import, table_counts):
    before = table_counts()
    job = run_import(
        to_csv([row(), row(person="7000002", given="花子"), row(household="700002", person="7000003")]), dry_run=True
    )
    assert (job.status, job.dry_run, job.created, job.households_created) == (ImportStatus.done, True, 3, 2)
    assert table_counts() == before


def test_changed_rows_update_only_what_differs_and_blank_cells_never_erase(run_import, db):
    run_import(to_csv([row(), row(person="7000002", given="花子")]))
    job = run_import(
        to_csv([row(address="見本町2-2", phone=""), row(person="7000002", given="花江", address="見本町2-2", phone="")])
    )
    assert (job.created, job.updated, job.unchanged, job.households_updated) == (0, 1, 1, 1)
    household = db.exec(select(Household).where(Household.external_ref == "700001")).one()
    assert (household.address_line, household.phone) == ("見本町2-2", "0480-00-0001")  # blank phone kept the old one
    person = db.exec(select(Person).where(Person.external_ref == "7000002")).one()
    assert person.given_name == "花江" and person.last_confirmed_source.value == "import"
    changes = db.exec(select(Change).where(Change.person_id == person.id, Change.action == "update")).all()
    assert [(c.field, c.old_value, c.new_value, c.source.value) for c in changes] == [
        ("given_name", "花子", "花江", "import")
    ]


def test_a_person_registered_in_another_household_is_refused(run_import, make, table_counts):
    other = make.household(external_ref="799999")
    make.person(other, external_ref="7000001")
    before = table_counts()
    job = run_import(to_csv([row()]))
    assert problems(job) == [
        (2, "世帯番号", "この宛名番号の方は別の世帯（799999）に登録されています。一括取込では世帯を移しません")
    ]
    assert table_counts() == before


def test_a_household_registered_by_hand_is_linked_not_duplicated(run_import, make, db):
    by_hand = make.household(address_line="見本町1-1")
    person = make.person(
        by_hand,
        external_ref="7000001",
        family_name="見本",
        given_name="太郎",
        family_name_kana="ミホン",
        given_name_kana="タロウ",
        birth_date=date(1940, 3, 2),
        sex=Sex.male,
    )
    job = run_import(to_csv([row(), row(person="7000002", given="花子")]))
    assert (job.households_created, job.households_updated, job.created, job.unchanged) == (0, 1, 1, 1)
    db.refresh(by_hand)
    assert by_hand.external_ref == "700001"
    assert (
        db.exec(select(Person).where(Person.external_ref == "7000002")).one().household_id
        == by_hand.id
        == person.household_id
    )


def test_a_failure_part_way_through_the_write_leaves_nothing_behind(run_import, table_counts, monkeypatch):
    from app.persons import service as persons

    real_create, calls = persons.create, []

    def failing_on_the_third(**kw):
        calls.append(kw["data"].external_ref)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_create(**kw)

    monkeypatch.setattr(persons, "create", failing_on_the_third)
    before = table_counts()
    job = run_import(to_csv([row(person=str(7000001 + i), household=str(700001 + i // 2)) for i in range(6)]))
    assert job.status == ImportStatus.failed and len(calls) == 3
    assert problems(job) == [
        (None, "", "取込中に予期しないエラーが起きました。何も書き込んでいません。管理者にお知らせください")
    ]
    assert table_counts() == before
