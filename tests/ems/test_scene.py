"""At the scene, in headless Chromium: never a stale "genuine" offline, the vital facts on the first
screen, every input path (camera kept warm, hardware scanner, incident kept), icons that need no font."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ems.conftest import REVOKED_PERSON, enroll_and_sign_in

pytestmark = pytest.mark.browser

FONT_GLYPHS = "⚠✔✖☀⟲⌨⌖➜☎⇡●ℹ"


@pytest.fixture
def desk_phone(new_phone, ems_server, request):
    """An enrolled phone with a signed-in crew member whose camera cannot be opened (the scan screen stays
    put: the fake camera films a card all the time), for typed and hardware-scanner input."""

    def _open(**options):
        page = new_phone(**options)
        refuse = "() => Promise.reject(new DOMException('no camera', 'NotAllowedError'))"
        page.context.add_init_script(f"navigator.mediaDevices.getUserMedia = {refuse}")
        enroll_and_sign_in(page, ems_server, f"テスト端末 {request.node.name}"[:100])
        return page

    return _open


def summary_shown(page: Page) -> None:
    page.locator("body[data-result='summary']").wait_for()


def verdict(page: Page):
    return page.locator("#verdict")


def scanner_types(page: Page, text: str) -> None:
    """A keyboard-wedge scanner: the whole text in a burst, then Enter, wherever the focus is."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def go_offline(page: Page) -> None:
    """Cut the network for the page and its service worker alike."""
    page.context.set_offline(True)
    page.context.route(
        "**/*", lambda route: route.abort("internetdisconnected") if route.request.service_worker else route.continue_()
    )


def go_online(page: Page) -> None:
    page.context.unroute("**/*")
    page.context.set_offline(False)


def installed(page: Page) -> None:
    """The service worker controls the app, as on a phone that has opened it once."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.locator("#screen-scan, #screen-result").first.wait_for()
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")


def scan_typed(page: Page, text: str) -> None:
    page.locator("body").click(position={"x": 5, "y": 5})
    scanner_types(page, text)


def device_events(ems_server, action: str, request) -> list[dict]:
    return [e for e in ems_server.ops("audit", action) if e["device"] == f"テスト端末 {request.node.name}"[:100]]


def test_a_card_revoked_online_is_never_genuine_offline(desk_phone, ems_server, request):
    """The sequence tried from outside: replace a card centrally, scan the old one online (revoked),
    go offline, scan it again: revoked again, no data, nothing queued as a view."""
    page = desk_phone()
    installed(page)
    # The device's list predates the replacement: on its own it would let the old card pass.
    kept_version = page.evaluate("globalThis.LifelineStore.get('trust').then((t) => t.revocations.version)")
    old = ems_server.ops("reissue", REVOKED_PERSON)["old"]
    scan_typed(page, old["qr_text"])
    expect(verdict(page)).to_have_attribute("data-status", "revoked")
    # A revoked answer makes the device fetch the list again at once.
    page.wait_for_function(
        "(v) => globalThis.LifelineStore.get('trust').then((t) => t.revocations.version > v)", arg=kept_version
    )

    go_offline(page)
    try:
        page.locator("#scan-next").click()
        scan_typed(page, old["qr_text"])
        expect(verdict(page)).to_have_attribute("data-status", "revoked")
        expect(verdict(page)).to_contain_text("失効")
        expect(page.locator("#summary")).to_be_empty()
        expect(page.locator("#result-notice")).to_contain_text("医療情報は表示しません")

        # Even with only the list it had before the replacement, the server's answer for this card holds.
        page.evaluate(
            "(v) => caches.delete('lifeline-ems-trust').then(() => globalThis.LifelineStore.get('trust')).then((t) => {"
            "  t.revocations.entries = new Map(); t.revocations.version = v;"
            "  return globalThis.LifelineStore.set('trust', t) })",
            kept_version,
        )
        page.reload()
        page.locator("#screen-scan, #screen-result").first.wait_for()
        scan_typed(page, old["qr_text"])
        expect(verdict(page)).to_have_attribute("data-status", "revoked")
        expect(page.locator("#result-notice")).to_contain_text("サーバーで確認した結果")
        expect(page.locator("#summary")).to_be_empty()
        queued = page.evaluate("globalThis.LifelineStore.outboxAll()")
        assert queued == [], (queued, old)
    finally:
        go_online(page)
    assert device_events(ems_server, "scan.offline", request) == []


def test_offline_genuine_says_how_old_the_revocation_list_is(desk_phone, ems_server):
    page = desk_phone()
    installed(page)
    qr = ems_server.ops("issue-card", "DEMO-P003")["qr_text"]
    go_offline(page)
    try:
        scan_typed(page, qr)
        page.locator("body[data-result='offline']").wait_for()
        expect(page.locator("#result-notice")).to_contain_text("失効リストの確認：0分前")
        # A list a day old is flagged: a card revoked since may look genuine.
        page.evaluate(
            "caches.delete('lifeline-ems-trust').then(() => globalThis.LifelineStore.get('trust')).then((t) => {"
            "  t.checkedAt = Date.now() - 30 * 3600 * 1000; return globalThis.LifelineStore.set('trust', t) })"
        )
        page.reload()
        page.locator("#screen-scan, #screen-result").first.wait_for()
        scan_typed(page, qr)
        page.locator("body[data-result='offline']").wait_for()
        expect(page.locator("#result-notice")).to_contain_text("失効リストの確認：30時間前")
        expect(page.locator("#result-notice .banner.warn").last).to_contain_text("古いため")
    finally:
        go_online(page)


@pytest.mark.parametrize("viewport", [{"width": 360, "height": 640}, {"width": 390, "height": 844}])
def test_the_vital_facts_fit_the_first_screen(crew_phone, viewport):
    page = crew_phone(viewport=viewport)
    summary_shown(page)
    page.evaluate("window.scrollTo(0, 0)")
    bar = page.locator("header.bar").bounding_box()
    dock = page.locator("#screen-result .dock").bounding_box()
    first = page.locator("#sum-first")
    vital = {
        "verdict": verdict(page),
        "name and age": first.locator(".name"),
        "DNAR/ACP": first.locator(".dnar"),
        "allergies": first.locator(".allergies"),
        "anticoagulant": first.locator(".alerts li", has_text="ワルファリン").locator(".flag.anticoagulant"),
        "insulin": first.locator(".alerts .flag.insulin"),
        "family doctor's phone": first.locator(".doctor a.call[href^='tel:']"),
    }
    for what, locator in vital.items():
        box = locator.first.bounding_box()
        assert box is not None, f"{what} is not shown"
        assert box["y"] >= bar["y"] + bar["height"] - 1, f"{what} is under the top bar"
        assert box["y"] + box["height"] <= dock["y"] + 1, f"{what} needs a scroll at {viewport} ({box} vs dock {dock})"
    expect(first.locator(".name")).to_contain_text("見本 太郎")
    expect(first.locator(".name")).to_contain_text("歳")
    expect(first.locator(".allergies")).to_contain_text("ペニシリン")
    # The full lists follow, in DESIGN.md §3 order.
    order = page.locator("#summary > section").evaluate_all("sections => sections.map((s) => s.id)")
    assert order[:4] == ["sum-first", "sum-identity", "sum-dnar", "sum-allergies"]


def test_a_hardware_scanner_in_the_incident_field_scans_and_leaves_the_field_alone(desk_phone, ems_server, request):
    page = desk_phone()
    qr = ems_server.ops("issue-card", "DEMO-P003")["qr_text"]
    field = page.locator("#incident")
    field.click()
    field.press_sequentially("R8-1208-0043", delay=120)  # a person typing
    scanner_types(page, qr)  # then the scanner, with the cursor still in the field
    summary_shown(page)
    expect(page.locator("#sum-identity")).to_contain_text("𠮷野 試子")
    assert page.locator("#incident").input_value() == "R8-1208-0043"
    views = device_events(ems_server, "scan.view", request)
    assert views and views[-1]["incident"] == "R8-1208-0043"


def test_incident_and_reason_stay_until_cleared(desk_phone, ems_server, request):
    page = desk_phone()
    page.locator("#incident").fill("R8-1208-0044")
    page.locator("#purpose").fill("意識障害のため本人から聴取できない")
    page.reload()
    page.locator("#screen-scan").wait_for()
    expect(page.locator("#incident")).to_have_value("R8-1208-0044")
    expect(page.locator("#purpose")).to_have_value("意識障害のため本人から聴取できない")

    # Opened from the card's page (what a phone camera opens): the scan carries them.
    qr = ems_server.ops("issue-card", "DEMO-P003")["qr_text"]
    page.goto("/C/" + qr.rsplit("/", 1)[1])
    page.get_by_role("link", name="救急隊員：救急アプリで開く").click()
    summary_shown(page)
    views = device_events(ems_server, "scan.view", request)
    assert views[-1]["incident"] == "R8-1208-0044" and views[-1]["purpose"] == "意識障害のため本人から聴取できない"

    page.get_by_role("button", name="次を読み取る").click()
    page.get_by_role("button", name="事案番号と理由を消す（次の事案へ）").click()
    expect(page.locator("#incident")).to_have_value("")
    page.wait_for_function("() => globalThis.LifelineStore.get('incident').then((kept) => kept === undefined)")
    page.reload()
    page.locator("#screen-scan").wait_for()
    expect(page.locator("#incident")).to_have_value("")
    expect(page.locator("#purpose")).to_have_value("")


def test_the_camera_stays_warm_and_reads_a_card_shown_again_at_once(crew_phone):
    page = crew_phone()
    summary_shown(page)
    stream = page.evaluate("document.getElementById('video').srcObject?.id ?? null")
    assert stream is not None  # paused between scans, not closed
    page.get_by_role("button", name="次を読み取る").click()
    page.locator("#screen-scan").wait_for(state="visible")
    # The card still lies in view: not read again, and the crew is told why.
    expect(page.locator("#camera-note")).to_contain_text("いったん枠から外して")
    expect(page.locator("#screen-scan")).to_be_visible()
    assert page.evaluate("document.getElementById('video').srcObject?.id") == stream
    # Out of view for a moment (no frames), then shown again: read at once, with no fixed pause.
    page.evaluate(
        "() => { const v = document.getElementById('video'); globalThis.kept = v.srcObject; v.srcObject = null }"
    )
    expect(page.locator("#camera-note")).to_have_text("カードのQRコードを枠に入れてください")
    page.evaluate(
        "() => { const v = document.getElementById('video'); v.srcObject = globalThis.kept; return v.play() }"
    )
    summary_shown(page)  # how fast: benchmarks/scan.py (camera tap-to-medication)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_top_bar_fits_one_line_at_360_px_in_every_state(desk_phone, ems_server, language):
    page = desk_phone()
    installed(page)
    if language == "en":
        page.get_by_role("button", name="メニュー").click()
        page.get_by_role("button", name="English").click()
        page.get_by_role("button", name="Back").click()

    def one_line() -> None:
        tops = page.locator("header.bar > :visible").evaluate_all(
            "items => items.map((e) => { const r = e.getBoundingClientRect(); return Math.round(r.y + r.height / 2) })"
        )
        assert max(tops) - min(tops) <= 4, tops
        assert page.locator("header.bar").bounding_box()["height"] < 70

    one_line()
    qr = ems_server.ops("issue-card", "DEMO-P003")["qr_text"]
    go_offline(page)
    try:
        expect(page.locator("#net")).to_have_class(re.compile(r"\boffline\b"))
        one_line()
        for _ in range(2):  # offline scans queue records: the unsent count joins the bar
            scan_typed(page, qr)
            page.locator("body[data-result='offline']").wait_for()
            page.locator("#scan-next").click()
        expect(page.locator("#outbox")).to_be_visible()
        expect(page.locator("#outbox")).to_contain_text("2")
        one_line()
    finally:
        go_online(page)


def test_the_menu_before_enrolment_shows_only_what_can_be_used(new_phone):
    page = new_phone()
    page.goto("/ems/")
    page.locator("#screen-enroll").wait_for(state="visible")
    page.get_by_role("button", name="メニュー").click()
    for hidden in (
        "#menu-row-user",
        "#menu-row-shift",
        "#menu-row-device",
        "#menu-row-outbox",
        "#sign-out",
        "#send-outbox",
    ):
        expect(page.locator(hidden)).to_be_hidden()
    for shown in ("#toggle-language", "#toggle-theme", "#refresh-trust", "#menu-trust"):
        expect(page.locator(shown)).to_be_visible()
    expect(page.locator("#screen-menu")).not_to_contain_text("—")


def test_icons_are_drawn_not_typed(crew_phone):
    page = crew_phone()
    summary_shown(page)
    flag = page.locator("#sum-medications .flag.anticoagulant")
    expect(flag).to_have_text("抗凝固薬")
    expect(flag.locator("svg use[href='#i-warn']")).to_have_count(1)
    expect(verdict(page).locator("svg use[href='#i-check']")).to_have_count(1)
    text = page.locator("body").inner_text()
    assert not [glyph for glyph in FONT_GLYPHS if glyph in text]
    page.get_by_role("button", name="次を読み取る").click()
    assert not [glyph for glyph in FONT_GLYPHS if glyph in page.locator("body").inner_text()]
