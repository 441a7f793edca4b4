"""Sign-in: CSRF, wrong passwords, lock-out, sessions, bearer tokens (two factors: tests/auth/test_two_factor.py)."""

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import AuthSession
from app.core.clock import utcnow
from app.devices.deps import DEVICE_HEADER
from tests.ems.helpers import FIRE_DEPARTMENT, enrolled_device
from tests.factories import TEST_PASSWORD, next_totp_code, web_sign_in


def _form_token(client: TestClient) -> str:
    page = client.get("/login")
    return re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)


def test_sign_in_page_is_japanese_and_has_csrf(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert "ログイン" in page.text and 'name="csrftoken"' in page.text


def test_sign_in_without_csrf_token_is_refused(client, personas):
    client.get("/login")
    r = client.post(
        "/login", data={"username": personas.staff.username, "password": TEST_PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403
    assert "再読み込み" in r.text


def test_staff_signs_in_and_gets_a_hardened_cookie(client, personas, db):
    r = web_sign_in(client, db, personas.staff)
    assert r.status_code == 303 and r.headers["location"] == "/staff/"
    cookie = r.headers["set-cookie"]
    assert "lifeline_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/staff/").status_code == 200


def test_next_parameter_cannot_redirect_off_site(client, personas, db):
    token = _form_token(client)
    r = client.post(
        "/login",
        data={
            "username": personas.staff.username,
            "password": TEST_PASSWORD,
            "csrftoken": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/login/code"
    r = client.post(
        "/login/code", data={"code": next_totp_code(db, personas.staff), "csrftoken": token}, follow_redirects=False
    )
    assert r.headers["location"] == "/staff/"


def test_wrong_password_then_lockout(client, personas, db):
    token = _form_token(client)
    for _ in range(5):
        r = client.post(
            "/login", data={"username": personas.staff.username, "password": "wrong password!", "csrftoken": token}
        )
        assert r.status_code == 401
    assert "ユーザー名またはパスワードが違います" in r.text or "ロック" in r.text
    # Even the right password is refused while locked.
    r = client.post("/login", data={"username": personas.staff.username, "password": TEST_PASSWORD, "csrftoken": token})
    assert r.status_code == 401 and "ロック" in r.text
    db.refresh(personas.staff)
    assert personas.staff.locked_until is not None
    failures = db.exec(
        select(AuditEvent).where(
            AuditEvent.action == "auth.login_failed", AuditEvent.actor_username == personas.staff.username
        )
    ).all()
    assert len(failures) == 6


def test_unknown_user_gets_the_same_message(client):
    token = _form_token(client)
    r = client.post("/login", data={"username": "nobody", "password": "whatever it is", "csrftoken": token})
    assert r.status_code == 401 and "ユーザー名またはパスワードが違います" in r.text


def test_sign_out_revokes_the_session(login, personas):
    c = login(personas.staff)
    assert c.get("/staff/").status_code == 200
    c.post("/logout", follow_redirects=False)
    r = c.get("/staff/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_sign_in_replaces_an_existing_session(client, personas, db):
    """A session cookie planted before sign-in is never promoted (session fixation)."""
    client.get("/login")
    client.cookies.set("lifeline_session", "planted-token")
    r = web_sign_in(client, db, personas.staff)
    issued = re.search(r"lifeline_session=([^;]+)", r.headers["set-cookie"]).group(1)
    assert issued != "planted-token" and len(issued) >= 40


def test_api_token_flow(client, personas, db):
    r = client.post(
        "/api/v1/auth/token",
        data={
            "username": personas.staff.username,
            "password": TEST_PASSWORD,
            "totp": next_totp_code(db, personas.staff),
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    api = TestClient(client.app, headers={"Authorization": f"Bearer {body['access_token']}"})
    me = api.get("/api/v1/me").json()
    assert me["username"] == personas.staff.username and "password_hash" not in me
    assert api.get("/api/v1/households").status_code == 200
    # A web cookie token is not accepted as a bearer token and vice versa.
    assert (
        TestClient(client.app, cookies={"lifeline_session": body["access_token"]}).get("/api/v1/me").status_code == 401
    )


def test_api_token_wrong_password(client, personas):
    r = client.post("/api/v1/auth/token", data={"username": personas.staff.username, "password": "nope nope nope"})
    assert r.status_code == 401 and r.json()["detail"] == "ユーザー名またはパスワードが違います"


def test_a_name_with_a_nul_is_a_wrong_name_not_a_server_error(client, anonymous):
    # Found by schemathesis on PostgreSQL, which refuses NUL in text (a 500 before).
    r = client.post("/api/v1/auth/token", data={"username": "\x00", "password": "0"})
    assert r.status_code == 401 and r.json()["detail"] == "ユーザー名またはパスワードが違います"
    browser = anonymous()
    page = browser.post(
        "/login", data={"username": "staff\x00", "password": "x", "csrftoken": browser.cookies.get("csrftoken")}
    )
    assert page.status_code == 401 and "ユーザー名またはパスワードが違います" in page.text


def test_expired_and_disabled(client, personas, db):
    r = client.post(
        "/api/v1/auth/token",
        data={
            "username": personas.staff.username,
            "password": TEST_PASSWORD,
            "totp": next_totp_code(db, personas.staff),
        },
    )
    bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    record = db.exec(select(AuthSession).where(AuthSession.user_id == personas.staff.id)).first()
    record.expires_at = utcnow() - timedelta(seconds=1)
    db.add(record)
    db.commit()
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    personas.admin.is_active = False
    db.add(personas.admin)
    db.commit()
    r = client.post(
        "/api/v1/auth/token",
        data={
            "username": personas.admin.username,
            "password": TEST_PASSWORD,
            "totp": next_totp_code(db, personas.admin),
        },
    )
    assert r.status_code == 401


def test_english_is_available(client):
    client.get("/lang/en", follow_redirects=False)
    page = client.get("/login")
    assert '<html lang="en">' in page.text


def test_cookie_is_secure_behind_tls(app, personas, db):
    c = TestClient(app, base_url="https://lifeline.example")
    token = _form_token(c)
    r = c.post(
        "/login",
        data={"username": personas.staff.username, "password": TEST_PASSWORD, "csrftoken": token},
        follow_redirects=False,
    )
    assert "lifeline_pending=" in r.headers["set-cookie"] and "Secure" in r.headers["set-cookie"]
    r = c.post(
        "/login/code", data={"code": next_totp_code(db, personas.staff), "csrftoken": token}, follow_redirects=False
    )
    assert "lifeline_session=" in r.headers["set-cookie"] and "Secure" in r.headers["set-cookie"]


def _last_login(db, user) -> AuditEvent:
    return db.exec(
        select(AuditEvent)
        .where(AuditEvent.action == "auth.login", AuditEvent.actor_user_id == user.id)
        .order_by(AuditEvent.seq.desc())
    ).first()


def test_a_crew_sign_in_on_a_device_records_the_device_by_name(client, db, make):
    _, token = enrolled_device(db, "加須1号救急車 タブレット")
    paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
    signed = client.post(
        "/api/v1/auth/token",
        data={"username": paramedic.username, "password": TEST_PASSWORD},
        headers={DEVICE_HEADER: token, "User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/131"},
    )
    assert signed.status_code == 200
    event = _last_login(db, paramedic)
    assert event.device == "加須1号救急車 タブレット" and event.organisation == FIRE_DEPARTMENT


def test_a_web_sign_in_records_the_browser(client, personas, db):
    client.headers["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0) Firefox/133"
    assert web_sign_in(client, db, personas.staff).status_code == 303
    assert _last_login(db, personas.staff).device == "Mozilla/5.0 (Windows NT 10.0) Firefox/133"
