"""The staff UI: print buttons return PDFs (audited), batch jobs report progress, the glyph report guides the fix."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlmodel import select

from app.audit.models import AuditEvent
from app.households.models import Household
from app.residents import service as residents
from tests.conftest import IS_POSTGRES
from tests.printing.conftest import check_genuine, contact, flat, qr_texts, text_of


def _events(db, action):
    return db.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_print_sheet_button_returns_the_pdf_and_audits_it(login, personas, db, world):
    c = login(personas.staff)
    r = c.post(f"/staff/print/persons/{world.taro.id}/sheet")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "attachment" in r.headers["content-disposition"] and r.headers["cache-control"] == "no-store"
    assert "ワルファリン錠1mg" in flat(text_of(r.content)[0])
    check_genuine(db, qr_texts(r.content, 0)[0], world.taro)
    [event] = _events(db, "print.sheet")
    assert event.person_id == world.taro.id and event.actor_user_id == personas.staff.id


def test_print_kit_button_issues_a_code_and_marks_the_kit(login, personas, db, world):
    c = login(personas.staff)
    r = c.post(f"/staff/print/households/{world.household.id}/kit")
    assert r.status_code == 200
    code = re.search(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", text_of(r.content)[0]).group(0)
    assert residents.verify_access_code(session=db, household_id=world.household.id, code=code.lower())
    db.expire_all()
    assert db.get(Household, world.household.id).kit_printed_at is not None
    assert {e.person_id for e in _events(db, "print.kit")} == {world.taro.id, world.ume.id}
    page = c.get(f"/staff/households/{world.household.id}").text
    assert f"/staff/print/households/{world.household.id}/kit" in page and "前回の印刷" in page


def test_print_card_in_both_layouts(login, personas, db, world):
    c = login(personas.staff)
    for layout, pages in (("cr80", 2), ("a4", 2)):
        r = c.post(f"/staff/print/persons/{world.taro.id}/card", data={"layout": layout})
        assert r.status_code == 200 and len(text_of(r.content)) == pages
        check_genuine(db, qr_texts(r.content, 0)[0], world.taro)
    assert len(_events(db, "print.card")) == 2
    assert c.post(f"/staff/print/persons/{world.taro.id}/card", data={"layout": "poster"}).status_code == 422


def test_refused_print_explains_why_and_returns_no_pdf(login, personas, db, make, world):
    person = make.person(world.household, family_name="𠮷野", given_name="試子", family_name_kana="ヨシノ")
    make.consent(person)
    c = login(personas.staff)
    r = c.post(f"/staff/print/persons/{person.id}/sheet")
    assert r.status_code == 422 and "application/pdf" not in r.headers["content-type"]
    assert "𠮷" in r.text and "U+20BB7" in r.text and "印刷用の表記" in r.text
    report = c.get("/staff/print/glyphs")
    assert report.status_code == 200 and f"/staff/persons/{person.id}/edit" in report.text and "U+20BB7" in report.text
    unprinted = make.person(world.household)
    assert "同意" in c.post(f"/staff/print/persons/{unprinted.id}/sheet").text


def test_no_audit_no_pdf(login, personas, db, world):
    c = login(personas.staff)
    if IS_POSTGRES:
        db.exec(
            text(
                "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$ "
                "LANGUAGE plpgsql"
            )
        )
        db.exec(
            text("CREATE TRIGGER refuse_audit BEFORE INSERT ON auditevent FOR EACH ROW EXECUTE FUNCTION refuse_audit()")
        )
    else:
        db.exec(
            text(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON auditevent BEGIN SELECT RAISE(ABORT, 'audit refused'); "
                "END"
            )
        )
    db.commit()
    r = c.post(f"/staff/print/households/{world.household.id}/kit")
    assert r.status_code == 503 and "application/pdf" not in r.headers["content-type"]
    db.expire_all()
    assert db.get(Household, world.household.id).kit_printed_at is None


def test_batch_job_shows_progress_then_offers_the_pdf(login, personas, db, make, world):
    other = make.household()
    refused = make.person(other, family_name="𠮷田", family_name_kana="ヨシダ")
    make.consent(refused)
    c = login(personas.staff)
    index = c.get("/staff/print")
    assert index.status_code == 200 and "未印刷のキットをまとめて印刷" in index.text
    r = c.post("/staff/print/jobs", data={"kind": "kits", "scope": "all"}, follow_redirects=False)
    assert r.status_code == 303
    job_url = r.headers["location"]
    fragment = c.get(job_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and 'id="print-job"' in fragment.text and "<html" not in fragment.text
    assert "hx-trigger" not in fragment.text  # finished: polling stops
    assert "PDFをダウンロード" in fragment.text and "印刷しなかったもの" in fragment.text and "𠮷" in fragment.text
    pdf = c.get(job_url + "/download")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert any("見本 太郎" in t for t in text_of(pdf.content))
    assert _events(db, "print.download")
    assert c.get("/staff/print").text.count(job_url) >= 1


def test_print_pages_are_staff_only(login, personas, world):
    for who in (personas.paramedic, personas.resident, personas.doctor):
        c = login(who)
        assert c.post(f"/staff/print/persons/{world.taro.id}/sheet").status_code == 403
        assert c.get("/staff/print/glyphs").status_code == 403


def test_contacts_with_missing_glyphs_print_in_kana_and_are_listed(login, personas, db, world):
    contact(db, world.ume, "𠮷野 見子", "姪", "090-0000-0003", kana="ヨシノ ミコ")
    c = login(personas.staff)
    report = c.get("/staff/print/glyphs").text
    assert "𠮷野 見子" in report and "「ヨシノ ミコ」で印刷" in report
    r = c.post(f"/staff/print/persons/{world.ume.id}/sheet")
    assert "ヨシノ ミコ（姪）" in flat(text_of(r.content)[0])
