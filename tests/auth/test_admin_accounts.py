"""The administrator's account page: add (initial password once), stop and restart, reset the second factor."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth import service as auth
from app.auth.models import AuthSession, Passkey, RecoveryCode, Role, User
from app.core.security import verify_password
from tests.factories import TEST_PASSWORD

HOSTILE = "<script>alert(1)</script> & 福祉課"


def _add(client: TestClient, **form):
    return client.post(
        "/admin/users",
        data={
            "role": "staff",
            "username": "kazo.sato",
            "display_name": "佐藤 花子",
            "organisation": "加須市 福祉課",
            "practitioner_id": "",
        }
        | form,
    )


def _password_on_page(text: str) -> str:
    return re.search(r'class="onetime-code"[^>]*>([^<]+)<', text).group(1)


def _actions(db, action: str) -> list[AuditEvent]:
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_admin_adds_a_staff_account_whose_initial_password_works_once_shown(app, login, personas, db):
    admin = login(personas.admin)
    page = admin.get("/admin/users")
    assert page.status_code == 200 and personas.staff.username in page.text
    assert personas.resident.username not in page.text  # residents are managed with their household

    created = _add(admin, display_name=HOSTILE)
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    password = _password_on_page(created.text)
    assert re.fullmatch(r"([A-Za-z2-9]{4}-){3}[A-Za-z2-9]{4}", password)
    assert html.escape(HOSTILE, quote=False) in created.text and HOSTILE not in created.text
    user = db.exec(select(User).where(User.username == "kazo.sato")).one()
    assert user.role == Role.staff and user.organisation == "加須市 福祉課" and user.is_active
    assert verify_password(password, user.password_hash) and password not in user.password_hash
    assert password not in admin.get("/admin/users").text  # shown once
    event = _actions(db, "admin.user_create")[0]
    assert event.actor_user_id == personas.admin.id and event.purpose == "admin page (kazo.sato)"
    assert password not in (event.purpose + event.fields)

    # The new clerk signs in with it and is walked to the authenticator set-up.
    browser = TestClient(app, base_url="http://testserver")
    browser.get("/login")
    r = browser.post(
        "/login",
        data={"username": "kazo.sato", "password": password, "csrftoken": browser.cookies.get("csrftoken")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/login/enrol"


def test_a_doctor_account_stands_for_a_practitioner_of_the_directory(login, personas, make, db):
    admin = login(personas.admin)
    missing = _add(admin, role="doctor", username="dr.kazo")
    assert missing.status_code == 422 and "医師名簿の医師を選んでください" in missing.text
    practitioner = make.practitioner()
    assert _add(admin, role="doctor", username="dr.kazo", practitioner_id=str(practitioner.id)).status_code == 200
    doctor = db.exec(select(User).where(User.username == "dr.kazo")).one()
    assert doctor.practitioner_id == practitioner.id
    # One account per practitioner: a second would see the same patients under another name.
    twice = _add(admin, role="doctor", username="dr.kazo2", practitioner_id=str(practitioner.id))
    assert twice.status_code == 422 and "すでにアカウント「dr.kazo」があります" in twice.text
    # For other roles the practitioner is ignored.
    assert _add(admin, role="staff", username="clerk.x", practitioner_id=str(practitioner.id)).status_code == 200
    assert db.exec(select(User).where(User.username == "clerk.x")).one().practitioner_id is None


def test_bad_input_is_explained_and_nothing_is_made(login, personas, db):
    admin = login(personas.admin)
    before = len(db.exec(select(User)).all())
    cases = [
        (dict(username="佐藤 花子"), "半角の英数字"),
        (dict(username="<b>x</b>"), "半角の英数字"),
        (dict(username=personas.staff.username), "既に使われています"),
        (dict(username="ab"), "入力してください"),
        (dict(display_name=""), "入力してください"),
        (dict(role="resident"), "選択肢から選んでください"),
        (dict(role="king"), "選択肢から選んでください"),
        (dict(role="network"), "選択肢から選んでください"),
        (dict(practitioner_id="abc", role="doctor"), "数字で入力してください"),
        (dict(display_name="x" * 101), "100文字以内"),
    ]
    for form, message in cases:
        r = _add(admin, **form)
        assert r.status_code == 422 and message in r.text, (form, r.status_code)
    assert len(db.exec(select(User)).all()) == before


def test_stopping_an_account_ends_its_sessions_at_once_and_restarting_lets_it_back(app, login, personas, db):
    staff = personas.staff
    clerk = login(staff)
    assert clerk.get("/staff/", follow_redirects=False).status_code == 200
    token, _ = auth.start_session(session=db, user=staff, kind="api")
    admin = login(personas.admin)

    stopped = admin.post(f"/admin/users/{staff.id}/deactivate", follow_redirects=False)
    assert stopped.status_code == 303 and stopped.headers["location"] == "/admin/users?done=deactivated"
    assert "停止中" in admin.get("/admin/users?done=deactivated").text
    assert clerk.get("/staff/", follow_redirects=False).status_code == 303  # back to sign-in
    assert TestClient(app).get("/api/v1/households", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert all(s.revoked_at is not None for s in db.exec(select(AuthSession).where(AuthSession.user_id == staff.id)))
    browser = TestClient(app, base_url="http://testserver")
    browser.get("/login")
    refused = browser.post(
        "/login",
        data={"username": staff.username, "password": TEST_PASSWORD, "csrftoken": browser.cookies.get("csrftoken")},
        follow_redirects=False,
    )
    assert refused.status_code == 401

    assert admin.post(f"/admin/users/{staff.id}/activate", follow_redirects=False).status_code == 303
    db.refresh(staff)
    assert staff.is_active
    again = browser.post(
        "/login",
        data={"username": staff.username, "password": TEST_PASSWORD, "csrftoken": browser.cookies.get("csrftoken")},
        follow_redirects=False,
    )
    assert again.status_code == 303 and again.headers["location"] == "/login/code"
    assert [e.purpose for e in _actions(db, "admin.user_deactivate")] == [f"admin page ({staff.username})"]
    assert len(_actions(db, "admin.user_activate")) == 1


def test_an_admin_cannot_stop_their_own_account_nor_touch_residents(login, personas):
    admin = login(personas.admin)
    own = admin.post(f"/admin/users/{personas.admin.id}/deactivate", follow_redirects=False)
    assert own.status_code == 422 and "自分のアカウントは停止できません" in own.text
    assert admin.post(f"/admin/users/{personas.resident.id}/deactivate").status_code == 404
    assert admin.post("/admin/users/2147483647/deactivate").status_code == 404


def test_resetting_the_second_factor_for_a_person_who_lost_phone_and_codes(login, personas, db):
    doctor = personas.doctor
    db.add(RecoveryCode(user_id=doctor.id, code_hash="0" * 64))
    db.add(Passkey(user_id=doctor.id, credential_id="cred-1", public_key=b"k", name="診察室PC"))
    db.commit()
    signed_in = login(doctor)
    admin = login(personas.admin)
    page = admin.get("/admin/users").text
    assert f'action="/admin/users/{doctor.id}/reset-2fa"' in page
    assert (
        admin.post(f"/admin/users/{doctor.id}/reset-2fa", follow_redirects=False).headers["location"]
        == "/admin/users?done=reset"
    )
    db.refresh(doctor)
    assert doctor.totp_secret is None and doctor.totp_confirmed_at is None
    assert db.exec(select(RecoveryCode).where(RecoveryCode.user_id == doctor.id)).all() == []
    assert db.exec(select(Passkey).where(Passkey.user_id == doctor.id)).all() == []
    assert signed_in.get("/doctor/", follow_redirects=False).status_code == 303
    assert [e.purpose for e in _actions(db, "auth.2fa_reset")] == [f"admin page ({doctor.username})"]
