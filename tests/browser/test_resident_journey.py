"""The residents' journey (issue 7) in Chromium against the live demo service:

letter code → sign in → change a medication → the fresh sheet PDF shows it → the EMS summary
shows it as resident-reported → the family doctor confirms it → the EMS summary shows it as confirmed.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import urllib.parse
import urllib.request

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ROOT, password_step

pytestmark = pytest.mark.browser
LIVE_OPS = "tests.ems.live_ops"  # run against the live server's database and keys

CODE = re.compile(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")
REF = "DEMO-P005"  # 試験 一郎, born 1952-05-05, patient of the demo family doctor (見本 一郎)
PASSPHRASE = "shiken ichiro no kusuri 2026"

_HOUSEHOLD_OF = r"""
import sys
from sqlmodel import Session, select
from app.core import db
from app.persons.models import Person
with Session(db.get_engine()) as session:
    print(session.exec(select(Person).where(Person.external_ref == sys.argv[1])).one().household_id)
"""


def _pdf_text(data: bytes) -> str:
    return "".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(data))


def _python(live_server, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], env=live_server.env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _http(live_server, path: str, *, json_body=None, form=None, headers=None) -> dict:
    data = (
        json.dumps(json_body).encode()
        if json_body is not None
        else urllib.parse.urlencode(form).encode()
        if form
        else None
    )
    kind = (
        {"Content-Type": "application/json"}
        if json_body is not None
        else {"Content-Type": "application/x-www-form-urlencoded"}
    )
    request = urllib.request.Request(live_server.url + path, data=data, headers=kind | (headers or {}), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _crew_scanner(live_server):
    """A paramedic signed in on a freshly enrolled device; returns scan(qr) → the server's answer."""
    code = json.loads(_python(live_server, "-m", LIVE_OPS, "device-code", f"住民テスト端末 {secrets.token_hex(2)}"))[
        "code"
    ]
    device_token = _http(live_server, "/api/v1/devices/enroll", json_body={"code": code})["device_token"]
    username, password = live_server.login("paramedic")
    device = {"X-Lifeline-Device": device_token}
    token = _http(live_server, "/api/v1/auth/token", form={"username": username, "password": password}, headers=device)[
        "access_token"
    ]
    headers = device | {"Authorization": f"Bearer {token}"}
    return lambda qr: _http(
        live_server, "/api/v1/scans", json_body={"qr": qr, "incident": "R8-007", "reason": "呼吸苦"}, headers=headers
    )


def _medication(summary: dict, text: str) -> dict:
    return next(m for m in summary["medications"] if m["text"] == text)


def test_resident_updates_a_medication_and_the_doctor_confirms_it(page: Page, live_server, tmp_path, doc_screenshot):
    medicine = f"エドキサバン錠30mg {secrets.token_hex(2)}"
    # The city prints the kit; the letter in it carries the household's access code.
    household_id = _python(live_server, "-c", _HOUSEHOLD_OF, REF)
    kit = tmp_path / "kit.pdf"
    live_server.cli("print", "kits", "--household", household_id, "--out", str(kit))
    code = CODE.search(_pdf_text(kit.read_bytes())).group(0)

    # A daughter signs in with the letter's code and her father's birth date in 和暦.
    page.goto("/me/start")
    page.get_by_label("アクセスコード").fill(code.lower().replace("-", " "))
    page.get_by_label("世帯のどなたかの生年月日").fill("昭和27年5月5日")
    page.get_by_label("ログイン名").fill(f"shiken-yoko-{secrets.token_hex(2)}")
    page.get_by_label("お名前").fill("試験 陽子（長女）")
    page.get_by_label("パスワード（13文字以上。数字か記号もまぜる）").fill(PASSPHRASE)
    page.get_by_label("パスワード（もう一度）").fill(PASSPHRASE)
    page.get_by_role("button", name="登録する").click()
    expect(page).to_have_url(re.compile(r"/me/\?welcome=1$"))
    expect(page.get_by_text("登録できました")).to_be_visible()

    # Mobile first: on a phone, one column, 18 px text, 48 px targets, nothing to scroll sideways.
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('.resident')).fontSize)") >= 18
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.get_by_role("link", name="見る・直す").first.bounding_box()["height"] >= 48

    # She adds a medication for her father.
    member = page.locator(".members li").filter(has_text="試験 一郎")
    member.get_by_role("link", name="見る・直す").click()
    page.locator("#medication summary").click()
    page.locator("#medication").get_by_label("名前").fill(medicine)
    page.locator("#medication").get_by_role("button", name="追加する").click()
    entry = page.locator("#medication li").filter(has_text=medicine)
    expect(entry.get_by_text("ご本人・ご家族が入力")).to_be_visible()
    doc_screenshot(page, "resident-person")

    # The doctor search suggests the region's doctors as she types (htmx, no inline script).
    page.locator("#doctors details").first.locator("summary").click()
    page.locator("#q-family").press_sequentially("糖尿")
    expect(page.locator("#choices-family label").filter(has_text="糖子")).to_be_visible()

    # The fresh fridge sheet shows it.
    with page.expect_download() as download:
        page.get_by_role("link", name="新しいシートを印刷（PDF）").click()
    sheet = tmp_path / "sheet.pdf"
    download.value.save_as(sheet)
    assert medicine.split()[-1] in _pdf_text(sheet.read_bytes())

    # The crew's summary shows it as reported by the resident (the card in the kit is unchanged).
    qr = json.loads(_python(live_server, "-m", LIVE_OPS, "issue-card", REF))["qr_text"]
    scan = _crew_scanner(live_server)
    reported = _medication(scan(qr)["summary"], medicine)
    assert reported["source"] == "resident" and not reported["clinically_confirmed"]

    # The family doctor confirms it.
    page.get_by_role("button", name="ログアウト").click()
    username, password = live_server.login("doctor")
    password_step(page, username, password, path="/login?next=/doctor/changes")
    live_server.second_step(page, username)
    expect(page).to_have_url(re.compile(r"/doctor/changes$"))
    row = page.locator("tr").filter(has_text=medicine)
    row.get_by_role("button", name="確認した").click()
    expect(page.get_by_text("確認済みにしました。")).to_be_visible()
    expect(page.locator("tr").filter(has_text=medicine)).to_have_count(0)

    confirmed = _medication(scan(qr)["summary"], medicine)
    assert confirmed["source"] == "doctor" and confirmed["clinically_confirmed"]
