"""The staff registry UI through a real browser against the real service (demo data loaded)."""

from __future__ import annotations

import re
import secrets

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Page, expect

from app.core.i18n import LOCALE_DIR
from tests.browser.conftest import password_step

pytestmark = pytest.mark.browser

HOSTILE_FAMILY = "<script>alert(1)</script>"
HOSTILE_GIVEN = "&amp; 𠮷😀"
HOSTILE_ADDRESS = "見本町9-9 <img src=x onerror=alert(2)> &lt;b&gt;🏠"


def sign_in_staff(page: Page, live_server) -> None:
    username, password = live_server.login("staff")
    password_step(page, username, password)
    live_server.second_step(page, username)  # the authenticator: set up on the first sign-in, then its code
    expect(page).to_have_url(re.compile(r"/staff/$"))


def search(page: Page, text: str) -> None:
    """Type into the one search box as a person would; htmx swaps the results in."""
    box = page.get_by_role("searchbox")
    box.fill("")
    box.press_sequentially(text, delay=30)


def stat(page: Page, name: str) -> int:
    return int(page.locator(".stat", has_text=name).locator("b").inner_text())


def test_first_command_experience(page: Page, live_server, doc_screenshot):
    """What `make run` promises: health, a Japanese sign-in page, the printed demo staff sign-in works."""
    health = page.request.get("/healthz")
    assert health.ok and health.json() == {"status": "ok"}
    username, password = live_server.login("staff")
    assert username in live_server.demo_output and password in live_server.demo_output

    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", name="ログイン")).to_be_visible()
    expect(page.get_by_text("市職員・医師・救急隊・管理者の方はこちらからログインしてください。")).to_be_visible()

    sign_in_staff(page, live_server)
    expect(page.get_by_role("heading", name="登録者の検索")).to_be_visible()
    assert stat(page, "登録世帯") >= 4
    assert stat(page, "登録者") >= 6
    assert stat(page, "キット未配布") >= 1

    search(page, "見本")
    results = page.locator("#results")
    expect(results.get_by_role("link", name="見本 太郎")).to_be_visible()
    doc_screenshot(page, "staff-search")


def test_search_by_kana_edit_and_history(page: Page, live_server, doc_screenshot):
    sign_in_staff(page, live_server)
    search(page, "みほん")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="見本 太郎")).to_contain_text("ミホン タロウ")
    expect(rows.filter(has_text="見本 梅子")).to_contain_text("昭和18年11月20日")

    page.locator("#results").get_by_role("link", name="見本 太郎").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("見本 太郎")
    acp = page.locator("#acp")
    old_acp = "延命治療は望まない。本人・長女と話し合い済み（架空）"
    expect(acp).to_contain_text(old_acp)
    doc_screenshot(page, "staff-person", full_page=True)

    page.get_by_role("link", name="基本情報を編集").click()
    expect(page.get_by_role("heading", name="登録者の編集")).to_be_visible()
    new_acp = "延命治療は望まない。在宅での看取りを希望（架空・変更テスト）"
    page.get_by_label("本人・家族の希望（ACP）").fill(new_acp)
    page.get_by_label("本人の電話番号").fill("０４８０−００−９９９９")  # full-width, as typed with a Japanese IME
    page.get_by_role("button", name="保存する").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("見本 太郎")
    expect(acp).to_contain_text(new_acp)
    expect(page.locator("#other")).to_contain_text("0480-00-9999")

    page.get_by_role("link", name="変更履歴").click()
    expect(page.get_by_role("heading", name="変更履歴")).to_be_visible()
    acp_change = page.locator("tbody tr").filter(has=page.locator(".diff-new", has_text=new_acp))
    expect(acp_change).to_have_count(1)
    expect(acp_change.locator(".diff-old")).to_have_text(old_acp)
    expect(acp_change).to_contain_text("デモ職員 見本")
    phone_change = page.locator("tbody tr").filter(has=page.locator(".diff-new", has_text="0480-00-9999"))
    expect(phone_change).to_have_count(1)


def test_hostile_input_is_shown_literally(page: Page, live_server, browser_events):
    sign_in_staff(page, live_server)
    page.get_by_role("link", name="世帯の登録").click()
    page.locator("#f-address_line").fill(HOSTILE_ADDRESS)
    page.get_by_label("世帯の電話番号").fill("0480-00-7777")
    page.get_by_role("button", name="保存する").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(HOSTILE_ADDRESS)
    household_url = page.url

    page.get_by_role("link", name="世帯員を追加").click()
    page.locator("#f-family_name").fill(HOSTILE_FAMILY)
    page.locator("#f-given_name").fill(HOSTILE_GIVEN)
    page.locator("#f-family_name_kana").fill("きけん")
    page.locator("#f-given_name_kana").fill("ニュウリョク")
    page.locator("#f-birth_date").fill("昭和65年1月1日")
    page.get_by_label("救急時の情報共有について").check()
    page.get_by_role("button", name="保存する").click()

    # A clear message on the field, the typed values kept (literally), nothing saved.
    expect(page.locator("#e-birth_date")).to_contain_text("その元号にその年はありません")
    expect(page.locator("#f-family_name")).to_have_value(HOSTILE_FAMILY)
    expect(page.locator("#f-given_name")).to_have_value(HOSTILE_GIVEN)
    page.goto(household_url)
    expect(page.get_by_text("まだ世帯員が登録されていません")).to_be_visible()

    page.get_by_role("link", name="世帯員を追加").click()
    page.locator("#f-family_name").fill(HOSTILE_FAMILY)
    page.locator("#f-given_name").fill(HOSTILE_GIVEN)
    page.locator("#f-family_name_kana").fill("きけん")
    page.locator("#f-given_name_kana").fill("ニュウリョク")
    page.locator("#f-birth_date").fill("昭和15年3月2日")
    page.get_by_label("救急時の情報共有について").check()
    page.get_by_role("button", name="保存する").click()

    expected_name = f"{HOSTILE_FAMILY} {HOSTILE_GIVEN}"
    expect(page.get_by_role("heading", level=1)).to_contain_text(expected_name)
    expect(page.locator("main")).to_contain_text(HOSTILE_ADDRESS)

    page.get_by_role("link", name="検索").first.click()
    search(page, "キケン")
    expect(page.locator("#results").get_by_role("link", name=expected_name)).to_be_visible()

    # Nothing the user typed became markup: no injected elements, no dialog ever opened.
    assert page.locator("main script, main img").count() == 0
    assert browser_events.dialogs == []


def test_staff_flow_at_tablet_size(tablet_page: Page, live_server):
    page = tablet_page
    sign_in_staff(page, live_server)
    search(page, "たかはし")
    link = page.locator("#results").get_by_role("link", name="髙橋 架空")
    expect(link).to_be_visible()
    link.tap()
    expect(page.get_by_role("heading", level=1)).to_contain_text("髙橋 架空")
    expect(page.locator("#doctors")).to_contain_text("見本 一郎")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the person page scrolls sideways by {overflow}px at 820px wide"


def _english(msgid: str) -> str:
    path = LOCALE_DIR / "en.po"
    assert path.exists(), f"{path} is missing: English is offered in the top bar"
    with path.open("rb") as fh:
        message = read_po(fh).get(msgid)
    assert message is not None and message.string, f"no English for {msgid!r} in {path}"
    return message.string


def test_language_switch_to_english(page: Page, live_server):
    sign_in_staff(page, live_server)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(_english("登録者の検索"))
    nav = page.get_by_role("navigation")
    for label in ("検索", "世帯の登録", "キット未配布", "医療機関"):
        expect(nav.get_by_role("link", name=_english(label), exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=_english("ログアウト"))).to_be_visible()
    expect(page.locator(".stat").first).to_contain_text(_english("登録世帯"))

    page.get_by_role("link", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_have_text("登録者の検索")


def test_wrong_password_and_lockout(page: Page, live_server):
    username = f"lockout-{secrets.token_hex(3)}"
    password = f"Correct-{secrets.token_urlsafe(12)}"
    live_server.cli(
        "users",
        "add",
        "--role",
        "staff",
        "--username",
        username,
        "--password-stdin",
        "--display-name",
        "ロック試験 職員",
        input=password + "\n",
    )

    alert = page.get_by_role("alert")
    for attempt in range(5):
        password_step(page, username, f"wrong-password-{attempt}")
        expect(alert).to_have_text("ユーザー名またはパスワードが違います")
        expect(page.get_by_label("ユーザー名")).to_have_value(username)

    # Locked now: even the right password is refused, with a message that says why.
    password_step(page, username, password)
    expect(alert).to_contain_text("一時的にロックされています")
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
