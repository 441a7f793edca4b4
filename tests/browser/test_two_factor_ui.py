"""Two-factor sign-in in Chromium: a new staff member sets up the authenticator as they would with a phone."""
from __future__ import annotations

import io
import re
import secrets
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _password_step(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()


def test_staff_sets_up_the_authenticator_and_signs_in_with_it(page: Page, live_server):
    username, password = f"tfa-{secrets.token_hex(3)}", f"Kazo-{secrets.token_urlsafe(12)}"
    live_server.cli("users", "add", "--role", "staff", "--username", username, "--password-stdin",
                    "--display-name", "二要素 試験", input=password + "\n")

    _password_step(page, username, password)
    expect(page).to_have_url(re.compile(r"/login/enrol$"))
    expect(page.get_by_role("heading", name="2段階認証の設定")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)

    # What a phone's camera would read: the QR as rendered on screen carries the same key.
    shot = page.locator(".qr img").screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert len(found) == 1, "the QR on the set-up page does not decode"
    uri = urlparse(found[0].text)
    query = parse_qs(uri.query)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert unquote(uri.path) == f"/Tone Lifeline:{username}"
    assert query["secret"] == [secret] and query["issuer"] == ["Tone Lifeline"]

    # A mistyped code is explained; the key stays the same, so the app need not be set up again.
    page.locator("#f-code").fill("12345")
    page.get_by_role("button", name="設定を終える").click()
    expect(page.get_by_role("alert")).to_contain_text("確認コードが違います")
    assert page.locator("#totp-secret").inner_text().replace(" ", "") == secret

    live_server.totp_secrets[username] = secret  # "typed into the app": codes come from pyotp from now on
    page.locator("#f-code").fill(live_server.totp_code(username))
    page.get_by_role("button", name="設定を終える").click()
    codes = page.locator(".codes code")
    expect(codes).to_have_count(10)
    assert all(re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", c) for c in codes.all_inner_texts())
    page.get_by_role("link", name="保管しました。続ける").click()
    expect(page).to_have_url(re.compile(r"/staff/$"))

    # Next time: password, then the code.
    page.get_by_role("button", name="ログアウト").click()
    _password_step(page, username, password)
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.locator("#f-code").fill(live_server.totp_code(username))
    page.get_by_role("button", name="確認してログイン").click()
    expect(page).to_have_url(re.compile(r"/staff/$"))

    page.goto("/account")
    expect(page.get_by_text("未使用のリカバリーコード：10個")).to_be_visible()
    page.get_by_role("button", name="すべての端末からログアウト").click()
    expect(page).to_have_url(re.compile(r"/login\?notice=signed_out$"))
    expect(page.get_by_role("status")).to_have_text("すべての端末からログアウトしました")
    page.goto("/staff/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
