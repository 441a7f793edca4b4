"""Two-factor sign-in: enrolment, the code step, lock-out, replays, recovery codes, the API, residents."""

from __future__ import annotations

import html
import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth import totp
from app.auth.models import AuthSession, RecoveryCode, Role
from tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET, next_totp_code, web_sign_in


def _csrf(client: TestClient) -> str:
    client.get("/login")
    return client.cookies.get("csrftoken", "")


def _password_step(client: TestClient, user, password: str = TEST_PASSWORD):
    return client.post(
        "/login",
        data={"username": user.username, "password": password, "csrftoken": _csrf(client)},
        follow_redirects=False,
    )


def _code_step(client: TestClient, code: str):
    return client.post(
        "/login/code", data={"code": code, "csrftoken": client.cookies.get("csrftoken", "")}, follow_redirects=False
    )


def _events(db, action: str, user) -> list[AuditEvent]:
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.actor_user_id == user.id)))


def _secret_on_page(text: str) -> str:
    return re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', text).group(1).replace(" ", "")


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_password_alone_opens_no_session(client, personas):
    r = _password_step(client, personas.staff)
    assert r.status_code == 303 and r.headers["location"] == "/login/code"
    assert "lifeline_session=" not in r.headers["set-cookie"] and "lifeline_pending=" in r.headers["set-cookie"]
    # The half-signed-in state is no session: staff pages still send the browser to sign in.
    page = client.get("/staff/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert "確認コード" in client.get("/login/code").text


def test_staff_without_an_authenticator_is_walked_through_enrolment(client, make, db):
    staff = make.user(Role.staff, totp=False)
    r = _password_step(client, staff)
    assert r.headers["location"] == "/login/enrol"
    page = client.get("/login/enrol")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'src="data:image/svg+xml' in page.text and "style=" not in page.text.split("<main", 1)[1]
    secret = _secret_on_page(page.text)
    assert re.search(r'id="totp-secret"[^>]*>([A-Z2-7]{4} ){7}[A-Z2-7]{4}<', page.text), "groups of four"
    # Reloading keeps the secret, so a QR already scanned stays valid ...
    assert _secret_on_page(client.get("/login/enrol").text) == secret
    # ... but it is this browser's: not in the database before it is confirmed, and never shown to another.
    db.refresh(staff)
    assert staff.totp_secret is None
    other = TestClient(client.app, base_url="http://testserver")
    _password_step(other, staff)
    assert _secret_on_page(other.get("/login/enrol").text) != secret
    token = client.cookies.get("csrftoken")
    code = pyotp.TOTP(secret).now()
    wrong = client.post("/login/enrol", data={"code": _wrong(code), "csrftoken": token}, follow_redirects=False)
    assert wrong.status_code == 422 and "確認コードが違います" in wrong.text
    done = client.post("/login/enrol", data={"code": code, "csrftoken": token}, follow_redirects=False)
    assert done.status_code == 200 and "lifeline_session=" in done.headers["set-cookie"]
    codes = re.findall(r"<code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>", done.text)
    assert len(set(codes)) == 10
    db.refresh(staff)
    assert staff.totp_confirmed_at is not None
    stored = [row.code_hash for row in db.exec(select(RecoveryCode).where(RecoveryCode.user_id == staff.id))]
    assert len(stored) == 10 and not any(c.replace("-", "") in h or c in h for c in codes for h in stored)
    assert client.get("/staff/").status_code == 200
    assert len(_events(db, "auth.2fa_enrolled", staff)) == 1


def test_code_step_signs_in_and_audits_without_the_code(client, personas, db):
    _password_step(client, personas.doctor)
    code = next_totp_code(db, personas.doctor)
    r = _code_step(client, code)
    assert (
        r.status_code == 303 and r.headers["location"] == "/doctor/" and "lifeline_session=" in r.headers["set-cookie"]
    )
    logins = _events(db, "auth.login", personas.doctor)
    assert [e.outcome for e in logins] == ["pending", "ok"]
    for event in db.exec(select(AuditEvent)):
        assert code not in f"{event.purpose}|{event.fields}|{event.device}"


def test_wrong_codes_are_refused_and_lock_the_account(client, personas, db):
    _password_step(client, personas.staff)
    right = next_totp_code(db, personas.staff)
    for _ in range(5):
        r = _code_step(client, _wrong(right))
        assert r.status_code == 401
    db.refresh(personas.staff)
    assert personas.staff.locked_until is not None
    # Locked: the right code is refused too, and so is the password step.
    r = _code_step(client, right)
    assert r.status_code == 401 and "ロック" in r.text
    assert _password_step(TestClient(client.app, base_url="http://testserver"), personas.staff).status_code == 401
    assert len(_events(db, "auth.2fa_failed", personas.staff)) == 6


def test_a_known_password_does_not_buy_fresh_guesses(client, personas, db):
    """The failure count is reset only by a full sign-in, not by the right password alone."""
    for _ in range(2):
        _password_step(client, personas.staff)
        _code_step(client, _wrong(next_totp_code(db, personas.staff)))
    db.refresh(personas.staff)
    assert personas.staff.failed_logins == 2


def test_a_code_is_accepted_once(app, personas, db):
    first, second = (TestClient(app, base_url="http://testserver") for _ in range(2))
    _password_step(first, personas.staff)
    _password_step(second, personas.staff)
    code = next_totp_code(db, personas.staff)
    assert _code_step(first, code).status_code == 303
    replay = _code_step(second, code)
    assert replay.status_code == 401 and "lifeline_session=" not in replay.headers.get("set-cookie", "")


def test_the_step_before_and_after_are_accepted_but_no_further(db, personas):
    from datetime import timedelta

    from app.core.clock import utcnow

    staff = personas.staff
    now = utcnow()
    otp = pyotp.TOTP(TEST_TOTP_SECRET)
    assert not totp._claim_totp(session=db, user=staff, code=otp.at(now - timedelta(seconds=60)), now=now)
    assert totp._claim_totp(session=db, user=staff, code=otp.at(now - timedelta(seconds=30)), now=now)
    assert totp._claim_totp(session=db, user=staff, code=otp.at(now + timedelta(seconds=30)), now=now)
    # Once a later step was used, an earlier one is refused (it could only be a replay or older).
    assert not totp._claim_totp(session=db, user=staff, code=otp.at(now), now=now)


def test_recovery_codes_are_single_use_and_warn_when_few_remain(app, personas, db):
    staff = personas.staff
    codes = totp.regenerate_recovery_codes(session=db, user=staff)
    client = TestClient(app, base_url="http://testserver")
    _password_step(client, staff)
    r = _code_step(client, codes[0].lower())  # lower case is accepted, hyphens optional
    assert r.status_code == 303 and r.headers["location"] == "/account?recovery=1"
    page = client.get(r.headers["location"]).text
    assert "リカバリーコードでログインしました" in page and html.escape("未使用のリカバリーコード：9個") in page
    assert "残り少なく" not in page
    assert len(_events(db, "auth.recovery_code_used", staff)) == 1
    again = TestClient(app, base_url="http://testserver")
    _password_step(again, staff)
    assert _code_step(again, codes[0]).status_code == 401
    for code in codes[1:7]:
        other = TestClient(app, base_url="http://testserver")
        _password_step(other, staff)
        assert _code_step(other, code.replace("-", "")).status_code == 303
        page = other.get("/account").text
    assert "未使用のリカバリーコード：3個" in page and "残り少なく" in page


def test_api_token_requires_the_code(client, personas, db, make):
    form = {"username": personas.staff.username, "password": TEST_PASSWORD}
    missing = client.post("/api/v1/auth/token", data=form)
    assert missing.status_code == 401 and "totp" in missing.json()["detail"]
    code = next_totp_code(db, personas.staff)
    assert client.post("/api/v1/auth/token", data=form | {"totp": _wrong(code)}).status_code == 401
    ok = client.post("/api/v1/auth/token", data=form | {"totp": code})
    assert ok.status_code == 200 and ok.json()["access_token"]
    assert client.post("/api/v1/auth/token", data=form | {"totp": code}).status_code == 401  # replay
    recovery = totp.regenerate_recovery_codes(session=db, user=personas.staff)[0]
    assert client.post("/api/v1/auth/token", data=form | {"totp": recovery}).status_code == 200
    assert len(_events(db, "auth.2fa_failed", personas.staff)) == 3
    # Not enrolled yet: told to set it up in the browser first.
    fresh = make.user(Role.doctor, totp=False)
    r = client.post("/api/v1/auth/token", data={"username": fresh.username, "password": TEST_PASSWORD})
    assert r.status_code == 401 and "/login" in r.json()["detail"]
    described = client.get("/openapi.json").json()["paths"]["/api/v1/auth/token"]["post"]
    assert "totp" in described["description"]


def test_residents_may_turn_two_factor_on(app, personas, db, login):
    resident = personas.resident
    plain = TestClient(app, base_url="http://testserver")
    r = _password_step(plain, resident)
    assert r.headers["location"] == "/me/" and "lifeline_session=" in r.headers["set-cookie"]
    c = login(resident)
    page = c.get("/account/two-factor")
    assert page.status_code == 200
    secret = _secret_on_page(page.text)
    done = c.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    recovery = re.findall(r"<code>([0-9A-Z-]{19})</code>", done.text)
    assert done.status_code == 200 and len(recovery) == 10
    # From now on the same second step as staff.
    later = TestClient(app, base_url="http://testserver")
    assert _password_step(later, resident).headers["location"] == "/login/code"
    r = _code_step(later, next_totp_code(db, resident, secret))
    assert r.status_code == 303 and r.headers["location"] == "/me/"
    # Turning it off needs a current code, and ends every session.
    assert c.post("/account/two-factor/reset", data={"code": "12345"}).status_code == 422
    r = c.post("/account/two-factor/reset", data={"code": recovery[0]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?notice=reset"
    db.refresh(resident)
    assert resident.totp_secret is None and resident.totp_confirmed_at is None
    assert later.get("/me/", follow_redirects=False).status_code == 303
    assert not db.exec(select(RecoveryCode).where(RecoveryCode.user_id == resident.id)).all()


def test_crews_are_not_offered_an_authenticator(login, personas):
    c = login(personas.paramedic)
    assert "登録された端末" in c.get("/account").text
    assert c.get("/account/two-factor", follow_redirects=False).headers["location"] == "/account"


def test_regenerating_recovery_codes_needs_a_code(login, personas, db):
    c = login(personas.staff)
    old = totp.regenerate_recovery_codes(session=db, user=personas.staff)
    refused = c.post("/account/recovery-codes", data={"code": "nonsense"})
    assert refused.status_code == 422 and "確認コードが違います" in refused.text
    fresh = c.post("/account/recovery-codes", data={"code": next_totp_code(db, personas.staff)})
    assert fresh.status_code == 200 and fresh.headers["cache-control"] == "no-store"
    new = re.findall(r"<code>([0-9A-Z-]{19})</code>", fresh.text)
    assert len(new) == 10 and not set(new) & set(old)
    assert totp.remaining_recovery_codes(session=db, user=personas.staff) == 10


def test_sign_out_everywhere(app, login, personas, db):
    here, there = login(personas.doctor), login(personas.doctor)
    api = TestClient(app, base_url="http://testserver")
    token = api.post(
        "/api/v1/auth/token",
        data={
            "username": personas.doctor.username,
            "password": TEST_PASSWORD,
            "totp": next_totp_code(db, personas.doctor),
        },
    ).json()["access_token"]
    r = here.post("/account/signout-all", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?notice=signed_out"
    for c in (here, there):
        assert c.get("/doctor/", follow_redirects=False).status_code == 303
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert (
        db.exec(
            select(AuthSession).where(AuthSession.user_id == personas.doctor.id, AuthSession.revoked_at.is_(None))
        ).all()
        == []
    )
    assert len(_events(db, "auth.signout_all", personas.doctor)) == 1


def test_pending_state_cannot_be_forged(app, personas):
    c = TestClient(app, base_url="http://testserver")
    _csrf(c)
    c.cookies.set("lifeline_pending", "eyJ1IjoxfQ.forged.signature", path="/login")
    r = c.get("/login/code", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?notice=expired"
    assert "時間切れ" in c.get(r.headers["location"]).text


def test_password_change_rules_and_sessions(app, login, personas, db):
    c, other = login(personas.staff), login(personas.staff)
    form = {"current": TEST_PASSWORD, "new": "kazo-2026-tone", "new2": "kazo-2026-tone"}
    assert "現在のパスワードが違います" in c.post("/account/password", data=form | {"current": "wrong one 1"}).text
    assert c.post("/account/password", data=form | {"new": "password1", "new2": "password1"}).status_code == 422
    assert c.post("/account/password", data=form | {"new2": "kazo-2026-tonx"}).status_code == 422
    r = c.post("/account/password", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?notice=password"
    assert other.get("/staff/", follow_redirects=False).status_code == 303
    fresh = TestClient(app, base_url="http://testserver")
    assert web_sign_in(fresh, db, personas.staff, password="kazo-2026-tone").headers["location"] == "/staff/"
    assert {e.action for e in db.exec(select(AuditEvent).where(AuditEvent.actor_user_id == personas.staff.id))} >= {
        "auth.password_changed",
        "auth.signout_all",
    }


@pytest.mark.parametrize(
    ("password", "second_factor", "ok"),
    [
        ("mihon-2026", True, True),  # 8+ mixed, with two factors
        ("mihon-2026", False, False),  # … but not alone
        ("kazo-2026", True, False),  # the city's name and a year: guessed in 10^7 tries
        ("kazo-lifeline-2026", False, True),  # 13+ mixed
        ("abcdefghijklmnop", False, False),  # letters only, however long
        ("1234567890123", False, False),  # digits only
        ("P@ssw0rd2024!", True, False),  # a common password dressed up
        ("1qaz2wsx", True, False),  # a keyboard walk
        ("Qwerty123", True, False),
        ("ひまわりの庭で猫が2匹ねている", False, True),  # a Japanese passphrase with a digit
        ("aaaa1111aaaa1111", False, False),  # repeats
        ("staff-member-2026", True, False),  # contains the user name
        ("Ｐａｓｓｗｏｒｄ１２３", True, False),  # full width is no disguise (NFKC)
        ("sakura2026", True, False),  # a common word and a year
        ("lifeline2026", True, False),  # the service's own name and a year
        ("Kp7x-Qm2R-aB3c-Xy9z", True, True),  # an initial password of app.auth.accounts
        ("x" * 200 + "7", False, False),  # long but one repeated character (zxcvbn reads the first 72)
    ],
)
def test_password_rules(password, second_factor, ok):
    from app.auth import passwords
    from app.core.errors import Invalid

    try:
        passwords.check_rules(password=password, username="staff-member", second_factor=second_factor)
    except Invalid:
        assert not ok, password
    else:
        assert ok, password


def test_password_rules_are_translated(client):
    from app.auth import passwords
    from app.core import i18n
    from app.core.errors import Invalid

    token = i18n.current_language.set("en")
    try:
        with pytest.raises(Invalid) as caught:
            passwords.check_rules(password="short1", username="someone", second_factor=True)
        assert caught.value.translated() == "The password must have at least 8 characters."
    finally:
        i18n.current_language.reset(token)
