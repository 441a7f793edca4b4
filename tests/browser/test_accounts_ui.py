"""Account management in Chromium: an administrator adds a clerk, hands over the initial password,
the clerk signs in and replaces it, and the administrator stops the account again."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import password_step

pytestmark = pytest.mark.browser


def test_admin_adds_then_stops_a_clerk(page: Page, live_server, browser, browser_events):
    username = f"clerk.{secrets.token_hex(3)}"
    live_server.sign_in(page, "admin")
    page.get_by_role("link", name="管理", exact=True).click()
    expect(page.get_by_role("heading", name="アカウント管理")).to_be_visible()
    form = page.locator("#new-account")
    form.get_by_label("役割").select_option(label="市職員")
    form.get_by_label("ユーザー名").fill(username)
    form.get_by_label("表示名").fill("加須市 福祉課 <試験>")
    form.get_by_label("所属").fill("加須市 福祉課")
    form.get_by_role("button", name="追加して初期パスワードを表示").click()
    expect(page.get_by_role("heading", name="アカウントを追加しました")).to_be_visible()
    password = page.locator(".onetime-code").inner_text()
    assert re.fullmatch(r"([A-Za-z2-9]{4}-){3}[A-Za-z2-9]{4}", password)

    # The clerk, on their own computer: the initial password, then setting up the authenticator.
    clerk_context = browser.new_context(locale="ja-JP", base_url=live_server.url)
    clerk = clerk_context.new_page()
    password_step(clerk, username, password)
    live_server.second_step(clerk, username)
    # Then a password of their own before anything else; signed out everywhere, in again with it.
    expect(clerk).to_have_url(re.compile(r"/account/password$"))
    expect(clerk.get_by_role("status")).to_contain_text("初期パスワードのまま")
    own = "kazo welfare desk 2026"
    clerk.locator("#f-current").fill(password)
    clerk.locator("#f-new").fill(own)
    clerk.locator("#f-new2").fill(own)
    clerk.get_by_role("button", name="変更する").click()
    expect(clerk).to_have_url(re.compile(r"/login\?notice=password"))
    password_step(clerk, username, own)
    live_server.second_step(clerk, username)
    expect(clerk).to_have_url(re.compile(r"/staff/$"))

    page.get_by_role("link", name="アカウントの一覧へ戻る").click()
    row = page.get_by_role("row").filter(has_text=username)
    expect(row).to_contain_text("加須市 福祉課 <試験>")
    expect(row).to_contain_text("設定済み")
    # Stopping asks first: a "no" changes nothing, a "yes" stops the account.
    browser_events.dialog_answers[:] = [False, True]
    row.get_by_role("button", name=f"{username} を停止").click()
    expect(row).to_contain_text("有効")
    row.get_by_role("button", name=f"{username} を停止").click()
    expect(page.get_by_role("status")).to_have_text(
        "アカウントを停止しました。ログイン中の端末もすべてログアウトしました。"
    )
    expect(page.get_by_role("row").filter(has_text=username)).to_contain_text("停止中")
    assert (
        browser_events.dialogs
        == [f"confirm: {username} を停止します。ログイン中の端末もすべてログアウトします。よろしいですか？"] * 2
    )

    clerk.reload()
    expect(clerk).to_have_url(re.compile(r"/login\?next="))
    clerk_context.close()
