"""The doctor's, the resident's and the admin's views of the log, and the staff statistics."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from app.audit import service as audit
from app.audit.models import AuditEvent, AuditReview
from app.core.clock import JST
from tests.audit.conftest import crew_view, head_seq


def test_doctor_sees_accesses_to_own_patients_only(personas, login, connection, db):
    mine = crew_view(connection, personas.patient, emergency=True, purpose="MINE-REASON")
    crew_view(connection, personas.other_person, purpose="OTHER-REASON")
    r = login(personas.doctor).get("/doctor/access")
    assert r.status_code == 200
    assert "MINE-REASON" in r.text and personas.patient.full_name in r.text
    assert "OTHER-REASON" not in r.text and personas.other_person.full_name not in r.text
    assert f'id="event-{mine.seq}" class="flagged"' in r.text and "未確認の緊急閲覧が1件あります" in r.text
    # …and the other doctor, the other way round.
    other = login(personas.other_doctor).get("/doctor/access").text
    assert "OTHER-REASON" in other and "MINE-REASON" not in other
    viewed = db.exec(select(AuditEvent).where(AuditEvent.actor_user_id == personas.doctor.id)).all()
    assert [e.action for e in viewed] == ["audit.view"]


def test_doctor_filters(personas, login, connection):
    crew_view(connection, personas.patient, purpose="ROUTINE")
    crew_view(connection, personas.patient, emergency=True, purpose="URGENT")
    c = login(personas.doctor)
    assert "ROUTINE" not in c.get("/doctor/access?emergency=1").text
    assert "URGENT" in c.get("/doctor/access?emergency=1&unreviewed=1").text
    today = datetime.now(JST).date()
    assert "URGENT" in c.get(f"/doctor/access?date_from={today}&date_to={today}").text
    assert "URGENT" not in c.get(f"/doctor/access?date_to={today - timedelta(days=1)}").text
    assert "URGENT" in c.get("/doctor/access?action=scan.").text
    assert "URGENT" not in c.get("/doctor/access?action=person.view").text
    assert c.get("/doctor/access?date_from=not-a-date&page=x").status_code == 200


def test_doctor_marks_reviewed_without_touching_the_event(personas, login, connection, db):
    event = crew_view(connection, personas.patient, emergency=True, purpose="URGENT")
    c = login(personas.doctor)
    r = c.post(f"/doctor/access/{event.seq}/review", data={"note": "家族に確認済み"}, headers={"hx-request": "true"})
    assert r.status_code == 200 and 'class="flagged"' not in r.text and "家族に確認済み" in r.text
    review = db.exec(select(AuditReview).where(AuditReview.event_seq == event.seq)).one()
    assert review.reviewer_user_id == personas.doctor.id and review.kind == "access"
    stored = db.exec(select(AuditEvent).where(AuditEvent.seq == event.seq)).one()
    assert stored.hash == event.hash
    assert "URGENT" not in c.get("/doctor/access?unreviewed=1").text
    assert "未確認の緊急閲覧が" not in c.get("/doctor/access").text
    recorded = db.exec(select(AuditEvent).where(AuditEvent.action == "audit.review")).one()
    assert (recorded.actor_user_id, recorded.person_id, recorded.fields) == (
        personas.doctor.id,
        personas.patient.id,
        f"seq={event.seq}",
    )
    # Without htmx: back to the list with the same filters.
    again = c.post(
        f"/doctor/access/{event.seq}/review", data={"back": "emergency=1&x=<script>"}, follow_redirects=False
    )
    assert again.status_code == 303 and again.headers["location"] == "/doctor/access?emergency=1&x=%3Cscript%3E"


def test_doctor_cannot_review_or_see_a_non_patient(personas, login, connection):
    event = crew_view(connection, personas.other_person, emergency=True)
    assert login(personas.doctor).post(f"/doctor/access/{event.seq}/review").status_code == 403
    assert login(personas.doctor).post("/doctor/access/99999999/review").status_code == 404


def test_resident_sees_organisation_time_and_reason_but_no_crew_name(personas, login, connection, db):
    crew_view(
        connection,
        personas.patient,
        emergency=True,
        purpose="呼吸が苦しい",
        incident="R8-000777",
        username="kazo-crew-7",
    )
    crew_view(connection, personas.other_person, purpose="OTHER-HOUSEHOLD")
    r = login(personas.resident).get("/me/access")
    assert r.status_code == 200
    page = r.text
    assert (
        "埼玉東部消防組合 加須消防署（救急隊員）" in page and "救急の現場でカードを読み取り、救急情報を見ました" in page
    )
    assert "呼吸が苦しい" in page and "R8-000777" in page and "同意なしの緊急閲覧" in page
    assert "kazo-crew-7" not in page and "OTHER-HOUSEHOLD" not in page
    assert "名前ではなく、所属" in page  # the page says why names are not shown
    seen = db.exec(select(AuditEvent).where(AuditEvent.actor_user_id == personas.resident.id)).all()
    assert [(e.action, e.household_id) for e in seen] == [("audit.view", personas.household.id)]


def test_residents_own_viewing_is_not_listed_back_to_them(personas, login):
    c = login(personas.resident)
    c.get(f"/api/v1/persons/{personas.patient.id}")
    c.get("/me/access")
    assert "まだだれも見ていません" in c.get("/me/access").text


def test_staff_changes_and_card_issue_are_recorded_and_shown_to_residents(personas, login, make, db):
    make.consent(personas.patient)
    staff = login(personas.staff)
    before = head_seq(db)
    assert staff.post(f"/staff/persons/{personas.patient.id}/cards/issue", follow_redirects=False).status_code == 303
    assert (
        staff.post(
            f"/api/v1/persons/{personas.patient.id}/entries", json={"kind": "allergy", "text": "そば"}
        ).status_code
        == 201
    )
    new = db.exec(select(AuditEvent).where(AuditEvent.seq > before)).all()
    assert [(e.action, e.person_id, e.actor_user_id, e.outcome) for e in new] == [
        ("card.issue", personas.patient.id, personas.staff.id, "requested"),
        ("person.add_entry", personas.patient.id, personas.staff.id, "requested"),
    ]
    page = login(personas.resident).get("/me/access").text
    assert "カードを発行しました" in page and "登録内容を更新しました" in page


def test_home_pages_by_role(personas, login):
    assert login(personas.doctor).get("/", follow_redirects=False).headers["location"] == "/doctor/"
    assert login(personas.resident).get("/", follow_redirects=False).headers["location"] == "/me/"
    assert login(personas.doctor).get("/doctor/", follow_redirects=False).headers["location"] == "/doctor/access"


@pytest.mark.parametrize("path", ["/doctor/access", "/me/access", "/admin/audit", "/admin/audit/export.csv"])
def test_no_audit_no_log_either(path, personas, login, connection, refuse_audit_inserts):
    """The log shows who viewed whom: if reading it cannot be recorded, it is not shown."""
    crew_view(connection, personas.patient, purpose="SECRET-REASON")
    who = {"/doctor": personas.doctor, "/me/": personas.resident, "/admin": personas.admin}
    client = login(next(user for prefix, user in who.items() if path.startswith(prefix)))
    refuse_audit_inserts()
    r = client.get(path)
    assert r.status_code == 503 and "アクセス記録を書き込めないため" in r.text
    assert "SECRET-REASON" not in r.text and personas.patient.full_name not in r.text


def test_admin_search_and_audited_csv_export(personas, login, connection, db):
    crew_view(connection, personas.patient, purpose="理由A")
    crew_view(connection, personas.other_person, purpose="理由B", username="other-crew")
    c = login(personas.admin)
    assert "理由B" not in c.get(f"/admin/audit?person={personas.patient.id}").text
    assert "理由A" in c.get(f"/admin/audit?person={personas.patient.family_name_kana}").text
    page = c.get("/admin/audit?username=other-crew&action=scan.&organisation=加須").text
    assert "理由B" in page and "理由A" not in page
    r = c.get("/admin/audit/export.csv?username=other-crew")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert (
        rows[0][0] == "連番"
        and len(rows) == 2
        and rows[1][12] == "理由B"
        and rows[1][9] == personas.other_person.full_name
    )
    export = db.exec(select(AuditEvent).where(AuditEvent.action == "audit.export")).one()
    assert export.actor_user_id == personas.admin.id and "username=other-crew" in export.fields
    assert f"-{export.seq}.csv" in r.headers["content-disposition"]  # the file names its own audit record


def test_admin_verifies_from_the_page(personas, login):
    r = login(personas.admin).post("/admin/audit/verify")
    assert r.status_code == 200 and "異常はありません" in r.text


def test_anomalies_are_flagged_and_can_be_reviewed(personas, login, connection, db, monkeypatch, make):
    from app.audit import anomalies
    from app.core.config import get_settings

    monkeypatch.setattr(get_settings(), "audit_burst_persons", 3)
    for person in [make.person() for _ in range(3)]:
        crew_view(connection, person, username="busy-crew")
    crew_view(connection, personas.patient, incident="", purpose="NO-INCIDENT", username="calm-crew")
    crew_view(connection, personas.patient, device="私物のスマートフォン", username="odd-device-crew")
    found = anomalies.detect(session=db, settings=get_settings(), enrolled_devices={"加須1号救急車 端末"})
    rules = {(a.rule, a.username) for a in found}
    assert {("burst", "busy-crew"), ("no_incident", "calm-crew"), ("unenrolled_device", "odd-device-crew")} <= rules
    assert ("unenrolled_device", "busy-crew") not in rules and ("burst", "calm-crew") not in rules
    c = login(personas.admin)
    page = c.get("/admin/audit").text
    assert "短時間に3人の情報を閲覧" in page and "事案番号のない救急閲覧" in page
    burst = next(a for a in found if a.rule == "burst")
    assert c.post(f"/admin/audit/anomalies/burst/{burst.key_seq}/review", follow_redirects=False).status_code == 303
    assert "短時間に3人の情報を閲覧" not in c.get("/admin/audit").text
    assert c.post("/admin/audit/anomalies/nonsense/1/review").status_code == 422


def test_odd_hours_flag_office_roles_once_per_night(personas, db, connection, monkeypatch):
    """Judged on the JST clock; the window here is set around the current hour."""
    from app.audit import anomalies
    from app.core.config import get_settings

    hour = datetime.now(JST).hour
    monkeypatch.setattr(get_settings(), "audit_odd_hours_start", hour)
    monkeypatch.setattr(get_settings(), "audit_odd_hours_end", (hour + 1) % 24)
    for role, name in (("staff", "night-clerk"), ("staff", "night-clerk"), ("paramedic", "night-crew")):
        audit.append(
            engine=connection,
            action="person.view",
            actor_user_id=hash(name) % 1000,
            actor_username=name,
            actor_role=role,
            person_id=personas.patient.id,
        )
    found = [
        a
        for a in anomalies.detect(session=db, settings=get_settings(), enrolled_devices=set())
        if a.rule == "odd_hours"
    ]
    assert [(a.username, a.count) for a in found] == [("night-clerk", 2)]
    assert (
        anomalies._odd(2, 22, 6)
        and anomalies._odd(23, 22, 6)
        and not anomalies._odd(12, 22, 6)
        and anomalies._odd(3, 1, 5)
    )


def test_statistics_count_scans_per_fire_department_cards_and_kits(personas, login, connection, db, make):
    from app.cards import service as cards
    from app.households import service as households
    from tests.factories import FACTORY_ACTOR

    crew_view(connection, personas.patient)
    crew_view(connection, personas.patient)
    audit.append(
        engine=connection,
        action="scan.view",
        actor_role="paramedic",
        organisation="行田市消防本部",
        person_id=personas.patient.id,
    )
    make.consent(personas.patient)
    cards.issue(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id)
    households.mark_kit_delivered(
        session=db, actor=FACTORY_ACTOR, household_id=personas.household.id, on=datetime.now(JST).date()
    )
    r = login(personas.staff).get("/staff/statistics")
    assert r.status_code == 200 and "<svg" in r.text and "月別の統計" in r.text
    from app.reports import stats

    months = stats.monthly(session=db, until=datetime.now(JST).date())
    this = months[-1]
    assert this.scans.get("埼玉東部消防組合 加須消防署", 0) >= 2 and this.scans.get("行田市消防本部", 0) >= 1
    assert this.cards_issued >= 1 and this.kits_delivered >= 1
    first_month = this.start.month - 11
    assert len(months) == 12 and months[0].start == (
        date(this.start.year, first_month, 1) if first_month > 0 else date(this.start.year - 1, first_month + 12, 1)
    )
    assert login(personas.doctor).get("/staff/statistics").status_code == 403


def test_pages_read_in_english_too(personas, login, connection):
    crew_view(connection, personas.patient, emergency=True)
    resident = login(personas.resident)
    resident.cookies.set("lang", "en")
    page = resident.get("/me/access").text
    assert "Who viewed the information" in page and "Emergency access without consent" in page
    doctor = login(personas.doctor)
    doctor.cookies.set("lang", "en")
    assert "Mark as reviewed" in doctor.get("/doctor/access").text


@pytest.mark.parametrize(
    "query",
    [
        "date_from=0001-01-01&date_to=9999-12-31",
        "date_to=2026-02-30",
        "page=-1",
        "page=99999999999999999999",
        "action=%00",
        "emergency=<script>",
        "person=%E2%80%AE",
        "person=99999999999",
        "username=a%00b&outcome=%00&organisation=%00",
    ],
)
def test_odd_filters_are_ignored_not_errors(query, personas, login):
    assert login(personas.doctor).get(f"/doctor/access?{query}").status_code == 200
    assert login(personas.admin).get(f"/admin/audit?{query}").status_code == 200
    assert login(personas.admin).get(f"/admin/audit/export.csv?{query}").status_code == 200
    assert login(personas.resident).get(f"/me/access?{query}").status_code == 200
