"""Passkeys: added on the account page once the authenticator is set up, then usable instead of the
code at sign-in; forged, replayed or foreign answers refused and counted; removed with a reset.

The ceremonies run through the real server checks (py_webauthn) against a software authenticator
(tests/auth/software_authenticator.py); tests/browser/test_two_factor_ui.py does it in Chromium.
"""

from __future__ import annotations

import html

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth import passkeys
from app.auth.models import Passkey, Role
from app.core.config import get_settings
from tests.auth.software_authenticator import SoftwareAuthenticator
from tests.factories import TEST_PASSWORD, next_totp_code, web_sign_in

HOSTILE_NAME = "<script>alert(1)</script> 事務用PC & 窓口"


def _json_post(client: TestClient, url: str, body=None):
    headers = {"x-csrftoken": client.cookies.get("csrftoken", ""), "accept": "application/json"}
    return client.post(url, json={} if body is None else body, headers=headers)


def _authenticator() -> SoftwareAuthenticator:
    rp = passkeys.relying_party()
    return SoftwareAuthenticator(origin=rp.origin, rp_id=rp.id)


def _add_passkey(client: TestClient, key: SoftwareAuthenticator, name: str = "事務用PC"):
    options = _json_post(client, "/account/passkeys/options")
    assert options.status_code == 200, options.text
    return _json_post(client, "/account/passkeys", {"name": name, "credential": key.create(options.json())})


def _to_code_step(app, user) -> TestClient:
    """A fresh browser that has typed the password: it stands at the code page."""
    browser = TestClient(app, base_url="http://testserver")
    browser.get("/login")
    r = browser.post(
        "/login",
        data={"username": user.username, "password": TEST_PASSWORD, "csrftoken": browser.cookies.get("csrftoken", "")},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/login/code"
    return browser


def _events(db, action: str, user) -> list[AuditEvent]:
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.actor_user_id == user.id)))


def test_staff_adds_a_passkey_and_signs_in_with_it_instead_of_the_code(client, app, db, personas):
    staff = personas.staff
    web_sign_in(client, db, staff)
    page = client.get("/account")
    assert "登録されたパスキーはありません" in page.text and 'id="passkey-add"' in page.text
    assert "/static/vendor/simplewebauthn-browser-14.0.0/index.umd.min.js" in page.text

    options = _json_post(client, "/account/passkeys/options")
    assert options.status_code == 200 and options.headers["cache-control"] == "no-store"
    body = options.json()
    rp = passkeys.relying_party()
    assert body["rp"] == {"id": rp.id, "name": "Tone Lifeline"} and body["user"]["name"] == staff.username
    assert (
        "lifeline_webauthn=" in options.headers["set-cookie"]
        and "Path=/account/passkeys" in options.headers["set-cookie"]
    )

    key = _authenticator()
    added = _json_post(client, "/account/passkeys", {"name": HOSTILE_NAME, "credential": key.create(body)})
    assert added.status_code == 201, added.text
    stored = db.exec(select(Passkey).where(Passkey.user_id == staff.id)).one()
    assert stored.name == HOSTILE_NAME and stored.sign_count == 0
    assert len(_events(db, "auth.passkey_added", staff)) == 1
    listed = client.get("/account?passkey=added").text
    assert html.escape(HOSTILE_NAME, quote=False) in listed and HOSTILE_NAME not in listed
    assert "パスキーを登録しました" in listed

    # Next sign-in: the password, then the passkey instead of the code.
    browser = _to_code_step(app, staff)
    code_page = browser.get("/login/code").text
    assert "パスキーで確認してログイン" in code_page and "/static/js/passkeys.js" in code_page
    request = _json_post(browser, "/login/passkey/options")
    assert request.status_code == 200
    assert [c["id"] for c in request.json()["allowCredentials"]] == [stored.credential_id]
    done = _json_post(browser, "/login/passkey", key.get(request.json()))
    assert done.status_code == 200 and done.json() == {"redirect": "/staff/"}
    assert "lifeline_session=" in done.headers["set-cookie"]
    assert browser.get("/staff/", follow_redirects=False).status_code == 200
    db.refresh(stored)
    assert stored.sign_count == 1 and stored.last_used_at is not None
    assert any(e.purpose == f"web (passkey: {HOSTILE_NAME})" for e in _events(db, "auth.login", staff))
    # The challenge was used once: the same answer again is refused.
    again = _to_code_step(app, staff)
    assert _json_post(again, "/login/passkey", key.get(request.json())).status_code == 401


def test_forged_foreign_and_stale_answers_are_refused_and_counted(client, app, db, personas, make):
    staff = personas.staff
    web_sign_in(client, db, staff)
    key = _authenticator()
    assert _add_passkey(client, key).status_code == 201
    other = make.user(Role.staff)
    other_client = TestClient(app, base_url="http://testserver")
    web_sign_in(other_client, db, other)
    other_key = _authenticator()
    assert _add_passkey(other_client, other_key).status_code == 201

    browser = _to_code_step(app, staff)
    # Without options first (no challenge in this browser) there is nothing to answer: audited, not counted.
    stale = _json_post(browser, "/login/passkey", key.get({"challenge": "AAAA"}))
    assert stale.status_code == 401 and "時間切れ" in stale.json()["detail"]
    attempts = [
        lambda options: key.get(options, key=ec.generate_private_key(ec.SECP256R1())),  # signed by another key
        lambda options: key.get(options, origin="https://evil.example"),  # a phishing site's origin
        lambda options: key.get(options, rp_id="evil.example"),
        lambda options: other_key.get(options),  # a passkey of another account
        lambda options: {"id": key.get(options)["id"], "response": "garbage"},  # not a WebAuthn answer
    ]
    assert len(attempts) == get_settings().login_max_failures
    for answer in attempts:
        options = _json_post(browser, "/login/passkey/options").json()
        refused = _json_post(browser, "/login/passkey", answer(options))
        assert refused.status_code == 401 and refused.json()["detail"].startswith("パスキーで確認できませんでした")
        assert "lifeline_session=" not in refused.headers.get("set-cookie", "")
    assert len(_events(db, "auth.2fa_failed", staff)) == 1 + len(attempts)
    # Counted like wrong codes: the account is now locked, and even the right passkey waits.
    db.refresh(staff)
    assert staff.locked_until is not None
    options = _json_post(browser, "/login/passkey/options").json()
    locked = _json_post(browser, "/login/passkey", key.get(options))
    assert locked.status_code == 401 and "ロック" in locked.json()["detail"]


def test_hostile_registrations_get_a_clear_refusal(client, db, personas):
    web_sign_in(client, db, personas.staff)
    key = _authenticator()
    # No options asked first: no challenge to answer.
    stale = _json_post(client, "/account/passkeys", {"name": "x", "credential": key.create({"challenge": "AAAA"})})
    assert stale.status_code == 422 and "時間切れ" in stale.json()["detail"]
    for credential in (
        {},
        {"id": "x", "response": {"clientDataJSON": "!!", "attestationObject": "@@"}},
        key.create({"challenge": "AAAA"}),
    ):  # the wrong challenge
        _json_post(client, "/account/passkeys/options")
        refused = _json_post(client, "/account/passkeys", {"name": "x", "credential": credential})
        assert (
            refused.status_code == 422
            and refused.json()["detail"] == "パスキーを登録できませんでした。もう一度お試しください。"
        )
    options = _json_post(client, "/account/passkeys/options").json()
    wrong_origin = _json_post(
        client, "/account/passkeys", {"name": "x", "credential": key.create(options, origin="https://evil.example")}
    )
    assert wrong_origin.status_code == 422
    assert _json_post(client, "/account/passkeys", {"name": "x" * 201, "credential": {}}).status_code == 422
    assert _json_post(client, "/account/passkeys", {"name": "x", "credential": "not an object"}).status_code == 422
    assert db.exec(select(Passkey)).all() == []
    # The same authenticator twice: the second time is refused (the browser excludes it too).
    assert _add_passkey(client, key).status_code == 201
    assert "excludeCredentials" in _json_post(client, "/account/passkeys/options").json()
    twice = _add_passkey(client, key)
    assert twice.status_code == 422 and "すでに登録" in twice.json()["detail"]


def test_cross_site_requests_are_refused(client, db, personas):
    web_sign_in(client, db, personas.staff)
    assert client.post("/account/passkeys/options", json={}, headers={"accept": "application/json"}).status_code == 403


@pytest.mark.parametrize("role", [Role.paramedic, Role.resident])
def test_passkeys_need_the_authenticator_first(client, db, make, role):
    user = make.user(role, totp=False, **({"organisation": "加須消防署"} if role == Role.paramedic else {}))
    if role == Role.resident:
        web_sign_in(client, db, user)
    else:
        client.get("/login")
        client.post(
            "/login",
            data={
                "username": user.username,
                "password": TEST_PASSWORD,
                "csrftoken": client.cookies.get("csrftoken", ""),
            },
        )
    refused = _json_post(client, "/account/passkeys/options")
    assert refused.status_code == 403
    assert "passkey-add" not in client.get("/account").text


def test_removing_a_passkey_and_resetting_the_second_factor(client, app, db, personas, make):
    staff = personas.staff
    web_sign_in(client, db, staff)
    assert _add_passkey(client, _authenticator(), "一台目").status_code == 201
    assert _add_passkey(client, _authenticator(), "二台目").status_code == 201
    first, second = db.exec(select(Passkey).where(Passkey.user_id == staff.id).order_by(Passkey.id)).all()

    other = make.user(Role.staff)
    other_client = TestClient(app, base_url="http://testserver")
    web_sign_in(other_client, db, other)
    token = other_client.cookies.get("csrftoken")
    assert other_client.post(f"/account/passkeys/{first.id}/delete", data={"csrftoken": token}).status_code == 404

    token = client.cookies.get("csrftoken")
    removed = client.post(f"/account/passkeys/{first.id}/delete", data={"csrftoken": token}, follow_redirects=False)
    assert removed.status_code == 303 and removed.headers["location"] == "/account?passkey=removed#passkeys"
    assert [p.id for p in db.exec(select(Passkey).where(Passkey.user_id == staff.id))] == [second.id]
    assert len(_events(db, "auth.passkey_removed", staff)) == 1

    # The phone is lost: the reset of the second factor takes the passkeys with it.
    reset = client.post(
        "/account/two-factor/reset",
        data={"code": next_totp_code(db, staff), "csrftoken": token},
        follow_redirects=False,
    )
    assert reset.status_code == 303
    assert db.exec(select(Passkey).where(Passkey.user_id == staff.id)).all() == []


def test_without_a_passkey_the_code_page_offers_none(app, personas):
    browser = _to_code_step(app, personas.doctor)
    page = browser.get("/login/code").text
    assert "パスキー" not in page and "passkeys.js" not in page
    refused = _json_post(browser, "/login/passkey/options")
    assert refused.status_code == 422
