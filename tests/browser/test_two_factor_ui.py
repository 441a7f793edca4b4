"""Two-factor sign-in in Chromium: a new staff member sets up the authenticator as they would with a
phone, then adds a passkey (Chromium's virtual authenticator) and signs in with it instead of the code."""

from __future__ import annotations

import io
import re
import secrets
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, _open_page, password_step, running_server

pytestmark = pytest.mark.browser


def test_staff_sets_up_the_authenticator_and_signs_in_with_it(page: Page, live_server):
    username, password = f"tfa-{secrets.token_hex(3)}", f"Kazo-{secrets.token_urlsafe(12)}"
    live_server.cli(
        "users",
        "add",
        "--role",
        "staff",
        "--username",
        username,
        "--password-stdin",
        "--display-name",
        "二要素 試験",
        input=password + "\n",
    )

    password_step(page, username, password)
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
    password_step(page, username, password)
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


@pytest.fixture(scope="module")
def localhost_server(tmp_path_factory):
    """A server the browser reaches as http://localhost: WebAuthn needs a host name, not 127.0.0.1."""
    with running_server(tmp_path_factory.mktemp("passkey-server"), db_suffix="passkey", host="localhost") as server:
        yield server


@pytest.fixture
def localhost_page(request, browser, localhost_server, browser_events):
    yield from _open_page(request, browser, localhost_server, browser_events, DESKTOP)


def test_staff_adds_a_passkey_and_signs_in_with_it(localhost_page: Page, localhost_server):
    page, server = localhost_page, localhost_server
    username, password = f"pk-{secrets.token_hex(3)}", f"Kazo-{secrets.token_urlsafe(12)}"
    server.cli(
        "users",
        "add",
        "--role",
        "staff",
        "--username",
        username,
        "--password-stdin",
        "--display-name",
        "パスキー 試験",
        input=password + "\n",
    )
    password_step(page, username, password)
    server.second_step(page, username)  # sets up the authenticator first (recovery codes come with it)

    # The computer's own authenticator (fingerprint, face or PIN), as Chromium simulates it.
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]

    page.goto("/account")
    expect(page.get_by_text("登録されたパスキーはありません。")).to_be_visible()
    page.get_by_label("このパスキーの名前").fill("福祉課の事務用PC <b>&")
    page.get_by_role("button", name="この端末のパスキーを追加する").click()
    expect(page).to_have_url(re.compile(r"/account\?passkey=added#passkeys$"))
    expect(page.get_by_role("status")).to_have_text(
        "パスキーを登録しました。次のログインから、確認コードの代わりに使えます。"
    )
    expect(page.get_by_role("cell", name="福祉課の事務用PC <b>&", exact=True)).to_be_visible()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["rpId"] == "localhost"

    # Next sign-in: the password, then the passkey instead of the six digits.
    page.get_by_role("button", name="ログアウト", exact=True).click()
    password_step(page, username, password)
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.get_by_role("button", name="パスキーで確認してログイン").click()
    expect(page).to_have_url(re.compile(r"/staff/$"))
    assert cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0]["signCount"] >= 1

    # The passkey is not on this computer any more: the refusal is explained, and the code still works.
    page.get_by_role("button", name="ログアウト", exact=True).click()
    password_step(page, username, password)
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator})
    page.get_by_role("button", name="パスキーで確認してログイン").click()
    expect(page.get_by_role("alert")).to_have_text(
        "パスキーの操作がキャンセルされたか、時間切れになりました。", timeout=70_000
    )
    page.locator("#f-code").fill(server.totp_code(username))
    page.get_by_role("button", name="確認してログイン", exact=True).click()
    expect(page).to_have_url(re.compile(r"/staff/$"))

    # Removing it: the code page no longer offers a passkey.
    page.goto("/account")
    page.get_by_role("button", name="パスキー「福祉課の事務用PC <b>&」を削除").click()
    expect(page.get_by_role("status")).to_have_text("パスキーを削除しました。")
    page.get_by_role("button", name="ログアウト", exact=True).click()
    password_step(page, username, password)
    expect(page).to_have_url(re.compile(r"/login/code$"))
    expect(page.get_by_role("button", name="パスキーで確認してログイン")).to_have_count(0)
