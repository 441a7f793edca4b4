"""The access log through a real browser: a doctor reviews accesses to their patients, a resident
sees who viewed the household's records, an admin searches, exports and verifies, staff see the
monthly statistics. Against the live demo service (tests/browser/conftest.py)."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

# Appends a crew access through the real audit writer of the live service's database.
_SEED = r"""
import json, sys
from sqlmodel import Session, select
from app.audit import service as audit
from app.core import db
from app.persons.models import Person
spec = json.loads(sys.argv[1])
engine = db.get_engine()
with Session(engine) as session:
    person = session.exec(select(Person).where(Person.external_ref == spec.pop("ref"))).one()
    person_id, household_id = person.id, person.household_id
print(audit.append(engine=engine, person_id=person_id, household_id=household_id, **spec).seq)
"""


def crew_view(live_server, ref: str, **fields) -> int:
    """A crew member of 加須消防署 viewed the demo person ``ref`` (as POST /api/v1/scans records it)."""
    spec = {
        "ref": ref,
        "action": "scan.view",
        "actor_username": "kazo-crew-12",
        "actor_role": "paramedic",
        "organisation": "埼玉東部消防組合 加須消防署",
        "device": "加須1号救急車 端末",
        "fields": "emergency_summary",
        "incident": "R8-004711",
        "purpose": "意識障害",
    } | fields
    result = subprocess.run(
        [sys.executable, "-c", _SEED, json.dumps(spec)],
        env=live_server.env,
        cwd=live_server.data_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def test_doctor_reviews_an_emergency_access_to_a_patient(page: Page, live_server, doc_screenshot):
    mine, other = f"胸痛 {secrets.token_hex(3)}", f"他院の患者 {secrets.token_hex(3)}"
    seq = crew_view(live_server, "DEMO-P001", emergency=True, purpose=mine)  # 見本 太郎: the demo doctor's patient
    crew_view(live_server, "DEMO-P003", emergency=True, purpose=other)  # 𠮷野 試子: another doctor's patient

    live_server.sign_in(page, "doctor")
    expect(page).to_have_url(re.compile(r"/doctor/access$"))
    expect(page.get_by_role("heading", name="患者さんへのアクセス")).to_be_visible()
    row = page.locator(f"#event-{seq}")
    expect(row).to_have_class(re.compile("flagged"))
    expect(row).to_contain_text("見本 太郎")
    expect(row).to_contain_text("同意なしの緊急閲覧")
    expect(row).to_contain_text(mine)
    expect(page.get_by_text("未確認の緊急閲覧が", exact=False)).to_be_visible()
    expect(page.get_by_text(other)).to_have_count(0)  # not this doctor's patient
    doc_screenshot(page, "doctor-access")

    row.get_by_placeholder("メモ（任意）").fill("ご家族に連絡済み")
    row.get_by_role("button", name="確認済みにする").click()
    expect(page.locator(f"#event-{seq}")).not_to_have_class(re.compile("flagged"))
    expect(page.locator(f"#event-{seq}")).to_contain_text("ご家族に連絡済み")

    page.get_by_label("未確認のみ").check()
    page.get_by_role("button", name="絞り込む").click()
    expect(page).to_have_url(re.compile(r"unreviewed=1"))
    expect(page.locator(f"#event-{seq}")).to_have_count(0)


def test_resident_sees_who_viewed_the_household(page: Page, live_server, doc_screenshot):
    reason = f"呼吸困難 {secrets.token_hex(3)}"
    crew_view(live_server, "DEMO-P002", purpose=reason, incident="R8-009900", actor_username="kazo-crew-secret-name")

    live_server.sign_in(page, "resident")
    page.get_by_role("link", name="だれが見たか").click()
    expect(page).to_have_url(re.compile(r"/me/access$"))
    expect(page.get_by_role("heading", name="だれが情報を見たか")).to_be_visible()
    item = page.locator(".access-list li", has_text=reason)
    expect(item).to_contain_text("埼玉東部消防組合 加須消防署（救急隊員）")
    expect(item).to_contain_text("見本 梅子")
    expect(item).to_contain_text("救急の現場でカードを読み取り、救急情報を見ました")
    expect(item).to_contain_text("R8-009900")
    expect(page.get_by_text("kazo-crew-secret-name")).to_have_count(0)
    page.get_by_text("この記録について").click()
    expect(page.get_by_text("見た人の名前ではなく、所属", exact=False)).to_be_visible()
    doc_screenshot(page, "resident-access")


def test_admin_searches_exports_and_verifies(page: Page, live_server, doc_screenshot):
    reason = f"事案番号なし {secrets.token_hex(3)}"
    crew_view(live_server, "DEMO-P004", purpose=reason, incident="")

    live_server.sign_in(page, "admin")
    page.goto("/admin/audit")
    anomalies = page.locator("#anomalies")
    expect(anomalies.get_by_role("row", name=re.compile(reason))).to_contain_text("事案番号のない救急閲覧")

    page.get_by_label("対象者").fill("タカハシ")  # 髙橋 架空 (DEMO-P004), found like the staff search
    page.get_by_role("button", name="検索").click()
    results = page.locator("#search table")
    expect(results).to_contain_text(reason)
    expect(results).to_contain_text("髙橋 架空")
    doc_screenshot(page, "admin-audit", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="CSVで書き出す").click()
    data = open(download.value.path(), "rb").read()
    assert data.startswith("\ufeff".encode()) and reason in data.decode("utf-8-sig")

    page.get_by_role("button", name="今すぐ検査する").click()
    expect(page.get_by_text("異常はありません。")).to_be_visible()


def test_staff_see_monthly_statistics_with_a_chart(page: Page, live_server):
    crew_view(live_server, "DEMO-P005")
    live_server.sign_in(page, "staff")
    page.get_by_role("link", name="統計").click()
    expect(page.get_by_role("heading", name="月別の統計")).to_be_visible()
    chart = page.get_by_role("img", name="月別の件数")
    expect(chart).to_be_visible()
    assert page.locator(".chart rect.s0").count() == 12
    expect(page.locator("table.numbers")).to_contain_text("埼玉東部消防組合 加須消防署")
    # The full log is not for staff.
    assert page.request.get("/admin/audit").status == 403
