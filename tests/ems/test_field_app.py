"""The EMS field app in headless Chromium against the real service: camera, offline, bad cards, a11y, small screens."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.ems.conftest import REVOKED_PERSON

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
MEDICAL_WORDS = ("ワルファリン", "インスリン", "ペニシリン", "糖尿病", "見本 太郎")


def summary_shown(page: Page) -> None:
    page.locator("body[data-result='summary']").wait_for()


def verdict(page: Page):
    return page.locator("#verdict")


def device_name(request) -> str:
    return f"テスト端末 {request.node.name}"[:100]


def scan_by_keyboard(page: Page, text: str) -> None:
    """A hardware scanner types the QR text and Enter wherever the focus is."""
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def outbox(page: Page) -> list[dict]:
    return page.evaluate("globalThis.LifelineStore.outboxAll()")


def test_camera_reads_the_printed_card_and_shows_the_medications(crew_phone, ems_server, request):
    page = crew_phone()
    summary_shown(page)
    expect(verdict(page)).to_have_attribute("data-status", "genuine")
    expect(verdict(page)).to_contain_text("本物のカードです")
    medications = page.locator("#sum-medications")
    expect(medications).to_contain_text("ワルファリン錠1mg")
    expect(medications.locator(".flag.anticoagulant")).to_have_text("抗凝固薬")
    expect(medications.locator(".flag.insulin")).to_have_text("インスリン")
    expect(medications.locator(".flag svg use[href='#i-warn']")).to_have_count(2)
    # DESIGN.md §3: who, resuscitation wishes, allergies, medications, conditions, doctors, contacts …
    order = page.locator("#summary > section").evaluate_all("sections => sections.map((s) => s.id)")
    assert order[:8] == [
        "sum-first",  # the vital facts on one screen (tests/ems/test_scene.py), then the full sections
        "sum-identity",
        "sum-dnar",
        "sum-allergies",
        "sum-medications",
        "sum-conditions",
        "sum-doctors",
        "sum-contacts",
    ]
    expect(page.locator("#sum-dnar")).to_have_class(re.compile(r"\bwarn\b"))
    expect(page.locator("#sum-allergies")).to_have_class(re.compile(r"\bwarn\b"))
    expect(page.locator("#sum-identity")).to_contain_text("情報の最終確認")
    expect(page.locator("#sum-doctors a[href='tel:0480001001']")).to_be_visible()
    expect(page.locator("#sum-contacts a[href^='tel:']")).to_have_count(2)
    # Recorded on the server, with the device, before the data came back.
    views = [e for e in ems_server.ops("audit", "scan.view") if e["device"] == device_name(request)]
    assert views and views[0]["actor_role"] == "paramedic" and views[0]["fields"] == "emergency_summary"


def test_destination_hospital_is_recorded(crew_phone, ems_server, request):
    page = crew_phone()
    summary_shown(page)
    page.get_by_role("button", name="搬送先").click()
    page.get_by_role("button", name=re.compile("済生会加須病院")).click()
    expect(page.locator("#result-notice")).to_contain_text("搬送先を記録しました：済生会加須病院")
    chosen = [e for e in ems_server.ops("audit", "scan.destination") if e["device"] == device_name(request)]
    assert chosen and chosen[0]["purpose"] == "済生会加須病院"


def test_offline_after_install_scans_queues_and_sends_later(crew_phone, ems_server, request):
    page = crew_phone()
    summary_shown(page)
    # Installed: the service worker is active and controls the app after a restart.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")
    summary_shown(page)
    context = page.context
    # Cut the network for the page and for the service worker alike.
    context.set_offline(True)
    context.route(
        "**/*", lambda route: route.abort("internetdisconnected") if route.request.service_worker else route.continue_()
    )
    assert page.evaluate("fetch('/healthz').then(() => 'reached', () => 'offline')") == "offline"

    page.reload()  # the app opens with no network, from the service worker
    page.locator("body[data-result='offline']").wait_for()
    expect(verdict(page)).to_have_attribute("data-status", "genuine")
    expect(verdict(page)).to_contain_text("本物のカードです")
    expect(page.locator("#result-notice")).to_contain_text("通信できないため、詳細は表示できません")
    expect(page.locator("#result-notice")).to_contain_text("冷蔵庫")
    expect(page.locator("#net")).to_contain_text("オフライン")
    expect(page.locator("#summary")).to_be_empty()
    queued = outbox(page)
    assert len(queued) == 1 and queued[0]["body"]["card_id"] and queued[0]["body"]["scanned_at"]
    first = queued[0]["client_id"]

    # The phone camera opening the QR's own URL, offline: the app opens on that card.
    card_url = (
        page.evaluate("location.origin")
        + "/C/"
        + ems_server.ops("issue-card", "DEMO-P001")["qr_text"].rsplit("/", 1)[1]
    )
    page.goto(card_url)
    page.locator("body[data-result='offline']").wait_for()
    expect(verdict(page)).to_contain_text("本物のカードです")

    # The queue survives an app restart.
    page.goto("/ems/")
    page.locator("#screen-result, #screen-scan").first.wait_for()
    kept = {record["client_id"] for record in outbox(page)}
    assert first in kept and len(kept) >= 2
    expect(page.locator("#outbox")).to_be_visible()

    context.unroute("**/*")
    context.set_offline(False)  # the 'online' event sends the queue
    expect(page.locator("#outbox")).to_be_hidden(timeout=20_000)
    assert outbox(page) == []
    recorded = [e for e in ems_server.ops("audit", "scan.offline") if e["device"] == device_name(request)]
    assert len(recorded) >= len(kept)
    assert all(e["outcome"] == "ok" and "scanned_at=" in e["fields"] and e["person_id"] for e in recorded)


def test_revoked_and_forged_cards_show_their_state_and_no_medical_data(crew_phone, ems_server):
    page = crew_phone()
    summary_shown(page)
    replaced = ems_server.ops("reissue", REVOKED_PERSON)
    scan_by_keyboard(page, replaced["old"]["qr_text"])
    expect(verdict(page)).to_have_attribute("data-status", "revoked")
    expect(verdict(page)).to_contain_text("このカードは失効しています（新しいカードがあります）")
    expect(page.locator("#summary")).to_be_empty()
    expect(page.locator("#result-notice")).to_contain_text("医療情報は表示しません")

    genuine = ems_server.ops("issue-card", "DEMO-P001")["qr_text"]
    prefix, digits = genuine.rsplit("/", 1)
    cose = bytearray(int(digits).to_bytes((int(digits).bit_length() + 7) // 8, "big"))
    cose[-1] ^= 0x01  # one bit of the signature
    scan_by_keyboard(page, f"{prefix}/{int.from_bytes(cose, 'big')}")
    expect(verdict(page)).to_have_attribute("data-status", "forged")
    expect(verdict(page)).to_contain_text("偽造の疑い")
    expect(page.locator("#summary")).to_be_empty()
    text = page.locator("main").inner_text()
    assert not any(word in text for word in MEDICAL_WORDS)


def test_card_number_typed_by_hand(crew_phone, ems_server):
    page = crew_phone()
    summary_shown(page)
    number = ems_server.ops("issue-card", "DEMO-P003")["card_number"]
    scan_by_keyboard(page, number.lower())
    summary_shown(page)
    expect(page.locator("#sum-identity")).to_contain_text("𠮷野 試子")
    expect(page.locator("#result-notice")).to_contain_text("カード番号で照会しました")


def test_card_page_opens_the_app_on_that_card(crew_phone, ems_server):
    page = crew_phone()
    summary_shown(page)
    qr = ems_server.ops("issue-card", "DEMO-P003")["qr_text"]
    page.goto("/C/" + qr.rsplit("/", 1)[1])  # what the phone camera opens, online: the server's card page
    link = page.get_by_role("link", name="救急隊員：救急アプリで開く")
    assert link.get_attribute("href").startswith("/ems/#qr=")
    link.click()
    summary_shown(page)
    expect(page.locator("#sum-identity")).to_contain_text("𠮷野 試子")


def test_a_crew_member_replaces_the_initial_password_at_the_first_sign_in(new_phone, ems_server):
    account = ems_server.ops("new-crew-account", "crew.first-shift")
    device = ems_server.ops("device-code", "テスト端末 初期パスワード")
    page = new_phone()
    page.goto("/ems/")
    page.locator("#enroll-code").fill(device["code"])
    page.get_by_role("button", name="登録する").click()
    page.locator("#signin-username").fill(account["username"])
    page.locator("#signin-password").fill(account["password"])
    page.get_by_role("button", name="ログイン").click()
    # Not signed in yet: the same form asks for a password of their own.
    expect(page.locator("#signin-error")).to_contain_text("初期パスワードのまま")
    expect(page.get_by_label("新しいパスワード", exact=True)).to_be_focused()
    page.get_by_label("新しいパスワード", exact=True).fill("kazo ambulance 2026")
    page.get_by_label("新しいパスワード（もう一度）").fill("kazo ambulance 2062")
    page.get_by_role("button", name="ログイン").click()
    expect(page.locator("#signin-error")).to_contain_text("2回入力したパスワード")
    page.get_by_label("新しいパスワード（もう一度）").fill("kazo ambulance 2026")
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_function("() => ['scan', 'result'].includes(document.body.dataset.screen)")
    expect(page.locator("#signin-new")).to_be_hidden()
    assert "crew.first-shift" in [e["actor_username"] for e in ems_server.ops("audit", "auth.password_changed")]


def test_disabled_device_stops_at_its_next_contact(crew_phone, ems_server, request):
    page = crew_phone()
    summary_shown(page)
    qr = ems_server.ops("issue-card", "DEMO-P001")["qr_text"]
    device_id = page.evaluate("globalThis.LifelineStore.get('device')")["id"]
    ems_server.ops("disable", str(device_id))
    page.goto("/ems/#qr=" + quote(qr, safe=""))
    page.locator("#screen-enroll").wait_for(state="visible")
    expect(page.locator("#enroll-error")).to_contain_text("この端末は使用停止されています")
    assert page.evaluate("globalThis.LifelineStore.get('session')") is None


def _axe(page: Page) -> list[dict]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated, not injected: the app's CSP allows no inline script
    result = page.evaluate("""
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})
            .then((r) => r.violations.map((v) => ({
                id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')),
            })))""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_scan_screen_and_emergency_view(new_phone, crew_phone, ems_server, scheme):
    enroll = new_phone(color_scheme=scheme)
    enroll.goto("/ems/")
    enroll.locator("#screen-enroll").wait_for(state="visible")
    assert _axe(enroll) == [], json.dumps(_axe(enroll), ensure_ascii=False)

    page = crew_phone(color_scheme=scheme)
    summary_shown(page)
    problems = _axe(page)
    assert problems == [], json.dumps(problems, ensure_ascii=False)
    page.get_by_role("button", name="次を読み取る").click()
    page.locator("#screen-scan").wait_for(state="visible")
    problems = _axe(page)
    assert problems == [], json.dumps(problems, ensure_ascii=False)


def _primary_actions_usable(page: Page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "no sideways scrolling"
    for button in page.locator(".screen:not([hidden]) .dock button:visible").all():
        box = button.bounding_box()
        assert box["height"] >= 48 and box["width"] >= 48
        assert 0 <= box["x"] and box["x"] + box["width"] <= width + 1
        assert box["y"] + box["height"] <= page.viewport_size["height"] + 1, "the action bar stays on screen"
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 18


@pytest.mark.parametrize(
    "viewport,scale",
    [({"width": 360, "height": 640}, 1), ({"width": 180, "height": 320}, 2)],
    ids=["360x640", "360x640-at-200-percent"],
)
def test_one_thumb_on_a_small_phone_and_at_200_percent_zoom(crew_phone, viewport, scale):
    # 200 % zoom of a 360 × 640 phone is a 180 × 320 CSS-pixel viewport at twice the pixel density.
    page = crew_phone(viewport=viewport, device_scale_factor=scale)
    summary_shown(page)
    _primary_actions_usable(page)
    page.mouse.wheel(0, 4000)
    _primary_actions_usable(page)
    next_scan = page.get_by_role("button", name="次を読み取る")
    expect(next_scan).to_be_in_viewport()
    next_scan.click()
    page.locator("#screen-scan").wait_for(state="visible")
    _primary_actions_usable(page)
    expect(page.get_by_role("button", name="番号入力")).to_be_in_viewport()


def test_english_and_dark_mode_toggles(crew_phone):
    page = crew_phone()
    summary_shown(page)
    page.get_by_role("button", name="メニュー").click()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Back")).to_be_visible()
    page.get_by_role("button", name=re.compile("表示|Display")).click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    for _ in range(50):  # kept on the device (IndexedDB) before the app restarts
        if (page.evaluate("globalThis.LifelineStore.get('prefs')") or {}).get("theme") == "dark":
            break
        page.wait_for_timeout(100)
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
