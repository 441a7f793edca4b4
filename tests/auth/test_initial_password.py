"""An administrator-issued password (new account, forgotten password) must be replaced before anything else."""

from __future__ import annotations

import re
import sqlite3

from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth import accounts
from app.auth.models import AuthSession, Role, User
from app.core.security import verify_password
from app.devices.deps import DEVICE_HEADER
from tests.auth.conftest import run
from tests.ems.helpers import FIRE_DEPARTMENT, enrolled_device
from tests.factories import TEST_PASSWORD

NEW_PASSWORD = "my own passphrase 2026"
REQUIRED = "管理者が発行した初期パスワードのままです"


def _new_account(db, role: Role = Role.staff, username: str = "kazo.sato") -> tuple[User, str]:
    return accounts.create(
        session=db,
        data=accounts.AccountCreate(
            role=role,
            username=username,
            display_name="佐藤 花子",
            organisation=FIRE_DEPARTMENT if role == Role.paramedic else "加須市",
        ),
    )


def _live_sessions(db, user: User) -> list[AuthSession]:
    db.expire_all()
    return list(db.exec(select(AuthSession).where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))))


def _actions(db, action: str) -> list[AuditEvent]:
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def test_a_new_account_reaches_nothing_but_the_password_form_until_it_chooses_its_own(login, db):
    user, initial = _new_account(db)
    assert user.must_change_password
    clerk = login(user)
    for path in ("/", "/staff/", "/account", "/admin/users"):
        r = clerk.get(path, follow_redirects=False)
        assert (r.status_code, r.headers.get("location")) == (303, "/account/password"), path
    api = clerk.get("/api/v1/me")
    assert (
        api.status_code == 403 and api.json()["code"] == "password_change_required" and REQUIRED in api.json()["detail"]
    )
    form = clerk.get("/account/password")
    assert form.status_code == 200 and "初期パスワードのまま" in form.text and "やめる" not in form.text

    # Not the initial password again, and the usual rules apply.
    same = clerk.post("/account/password", data={"current": initial, "new": initial, "new2": initial})
    assert same.status_code == 422 and "今のパスワードと違うもの" in same.text
    weak = clerk.post("/account/password", data={"current": initial, "new": "password", "new2": "password"})
    assert weak.status_code == 422
    db.refresh(user)
    assert user.must_change_password and verify_password(initial, user.password_hash)

    done = clerk.post(
        "/account/password",
        data={"current": initial, "new": NEW_PASSWORD, "new2": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?notice=password"
    db.refresh(user)
    assert not user.must_change_password and verify_password(NEW_PASSWORD, user.password_hash)
    assert _live_sessions(db, user) == []  # signed out everywhere: signs in again with the new password
    assert login(user).get("/staff/").status_code == 200


def test_a_crew_member_chooses_a_password_at_the_first_sign_in_on_the_device(client, db):
    user, initial = _new_account(db, Role.paramedic, "crew.kazo")
    _, device_token = enrolled_device(db)
    device = {DEVICE_HEADER: device_token}
    form = {"username": user.username, "password": initial}

    asked = client.post("/api/v1/auth/token", data=form, headers=device)
    assert asked.status_code == 403 and asked.json()["code"] == "password_change_required"
    mismatch = client.post(
        "/api/v1/auth/token",
        data=form | {"new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"},
        headers=device,
    )
    assert mismatch.status_code == 422 and "2回入力したパスワード" in mismatch.json()["detail"]
    db.refresh(user)
    assert user.must_change_password and _live_sessions(db, user) == []  # no token before a password of their own

    signed = client.post(
        "/api/v1/auth/token", data=form | {"new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, headers=device
    )
    assert signed.status_code == 200, signed.text
    me = client.get("/api/v1/me", headers=device | {"Authorization": f"Bearer {signed.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == "crew.kazo"
    db.refresh(user)
    assert not user.must_change_password and verify_password(NEW_PASSWORD, user.password_hash)
    assert client.post("/api/v1/auth/token", data=form, headers=device).status_code == 401  # the initial one is gone
    changed = _actions(db, "auth.password_changed")
    assert [e.actor_username for e in changed] == ["crew.kazo"] and changed[0].purpose == "initial password (api)"
    assert all(
        initial not in e.purpose + e.fields and NEW_PASSWORD not in e.purpose + e.fields
        for e in _actions(db, "auth.login")
    )


def test_an_administrator_issues_a_new_initial_password_for_a_forgotten_one(login, personas, db):
    staff = personas.staff
    staff.failed_logins = 4
    db.add(staff)
    db.commit()
    clerk = login(staff)
    assert _live_sessions(db, staff)
    admin = login(personas.admin)
    assert f'action="/admin/users/{staff.id}/password"' in admin.get("/admin/users").text
    assert f'action="/admin/users/{personas.admin.id}/password"' not in admin.get("/admin/users").text

    page = admin.post(f"/admin/users/{staff.id}/password")
    assert (
        page.status_code == 200
        and page.headers["cache-control"] == "no-store"
        and "初期パスワードを発行しました" in page.text
    )
    password = re.search(r'class="onetime-code"[^>]*>([^<]+)<', page.text).group(1)
    db.refresh(staff)
    assert staff.must_change_password and staff.failed_logins == 0
    assert verify_password(password, staff.password_hash) and not verify_password(TEST_PASSWORD, staff.password_hash)
    assert _live_sessions(db, staff) == []
    assert clerk.get("/staff/", follow_redirects=False).headers["location"].startswith("/login")
    event = _actions(db, "admin.user_password_reset")[-1]
    assert (
        event.actor_user_id == personas.admin.id
        and event.fields == f"user {staff.id}"
        and password not in event.purpose
    )

    # Not for oneself (the account page is for that), and not for residents' accounts.
    own = admin.post(f"/admin/users/{personas.admin.id}/password")
    assert own.status_code == 422 and "「アカウント」の画面で変更" in own.text
    db.refresh(personas.admin)
    assert not personas.admin.must_change_password and verify_password(TEST_PASSWORD, personas.admin.password_hash)
    assert admin.post(f"/admin/users/{personas.resident.id}/password").status_code == 404


def test_the_command_line_issues_one_too(cli_dir):
    assert (
        run(
            ["users", "add", "--role", "admin", "--username", "only-admin", "--password-stdin"],
            cli_dir,
            "a long passphrase 2026\n",
        ).returncode
        == 0
    )
    r = run(["users", "reset-password", "--username", "only-admin"], cli_dir)
    assert r.returncode == 0, r.stderr
    password = r.stdout.strip().splitlines()[-1]
    with sqlite3.connect(cli_dir / "lifeline.sqlite3") as conn:
        hashed, must = conn.execute(
            "select password_hash, must_change_password from user where username='only-admin'"
        ).fetchone()
        audited = conn.execute(
            "select outcome, purpose from auditevent where action='admin.user_password_reset' order by seq"
        ).fetchall()
    assert verify_password(password, hashed) and must == 1
    assert audited == [("requested", ""), ("ok", "new initial password issued")]
    assert run(["users", "reset-password", "--username", "nobody"], cli_dir).returncode == 1
