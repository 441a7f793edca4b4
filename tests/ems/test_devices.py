"""EMS devices: enrollment with a one-time code, crew sign-in bound to the device, central disabling."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import AuthSession
from app.core.clock import utcnow
from app.core.config import get_settings
from app.devices import service as devices
from app.devices.deps import WRONG_DEVICE_MESSAGE
from app.devices.models import Device
from tests.ems.helpers import FIRE_DEPARTMENT, enrolled_device, new_device
from tests.factories import FACTORY_ACTOR, TEST_PASSWORD, next_totp_code

DEVICE_HEADER = "X-Lifeline-Device"


def _enroll(client, code: str):
    return client.post("/api/v1/devices/enroll", json={"code": code})


def _sign_in(client, user, device_token: str | None):
    headers = {DEVICE_HEADER: device_token} if device_token else {}
    return client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": TEST_PASSWORD}, headers=headers
    )


def _crew(client, user, device_token: str) -> dict[str, str]:
    """Bearer + device headers of a crew member signed in on the device."""
    token = _sign_in(client, user, device_token).json()["access_token"]
    return {"Authorization": f"Bearer {token}", DEVICE_HEADER: device_token}


def test_admin_registers_a_device_and_sees_the_code_once(login, personas, db):
    admin = login(personas.admin)
    page = admin.post("/admin/devices", data={"name": "加須2号救急車 タブレット", "organisation": FIRE_DEPARTMENT})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    code = re.search(r'class="onetime-code"[^>]*>([^<]+)<', page.text).group(1)
    assert re.fullmatch(r"\d+-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", code)
    listing = admin.get("/admin/devices")
    assert "加須2号救急車 タブレット" in listing.text and "登録コード発行済み" in listing.text
    assert code not in listing.text  # shown once, kept only as an Argon2 hash
    device = db.exec(select(Device).where(Device.name == "加須2号救急車 タブレット")).one()
    assert (
        device.enrollment_code_hash.startswith("$argon2") and code.split("-", 1)[1] not in device.enrollment_code_hash
    )


def test_admin_form_errors_are_shown(login, personas):
    page = login(personas.admin).post("/admin/devices", data={"name": "", "organisation": FIRE_DEPARTMENT})
    assert page.status_code == 422 and "入力してください" in page.text


def test_a_device_name_in_use_is_refused_so_the_access_log_names_one_device(login, personas, db):
    admin = login(personas.admin)
    form = {"name": "加須3号救急車 端末", "organisation": FIRE_DEPARTMENT}
    assert admin.post("/admin/devices", data=form).status_code == 200
    twice = admin.post("/admin/devices", data=form)
    assert twice.status_code == 422 and "既に使われています" in twice.text and "加須3号救急車 端末 2" in twice.text
    named = lambda: db.exec(select(Device).where(Device.name == "加須3号救急車 端末")).all()  # noqa: E731
    assert len(named()) == 1
    # Once that phone is stopped, its name may go to the one replacing it.
    assert admin.post(f"/admin/devices/{named()[0].id}/disable").status_code in (200, 303)
    assert admin.post("/admin/devices", data=form).status_code == 200
    db.expire_all()
    assert sorted(d.disabled_at is None for d in named()) == [False, True]


def test_enrollment_returns_a_token_once_and_the_code_cannot_be_reused(client, db):
    device, code = new_device(db)
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in code.lower())
    first = _enroll(client, full_width.replace("-", " - "))  # typed loosely on a phone with a Japanese keyboard
    assert first.status_code == 201
    body = first.json()
    assert len(body["device_token"]) >= 40 and body["device"]["organisation"] == FIRE_DEPARTMENT
    db.refresh(device)
    assert device.enrolled_at is not None and device.enrollment_code_hash is None
    again = _enroll(client, code)
    assert again.status_code == 401 and "既に使われています" in again.json()["detail"]
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "device.enroll")).all()
    assert [e.outcome for e in events[-2:]] == ["ok", "refused"]


def test_expired_code_is_refused(client, db):
    device, code = new_device(db)
    device.enrollment_expires_at = utcnow() - timedelta(minutes=1)
    db.add(device)
    db.commit()
    assert _enroll(client, code).status_code == 401


@pytest.mark.parametrize(
    "code,status",
    [
        ("", 422),  # malformed: refused by the schema
        ("garbage", 401),  # well-formed enough to look up, but no device has it
        ("99999-AAAA-BBBB-CCCC", 401),
        ("1-" + "A" * 5000, 422),  # too long
    ],
)
def test_malformed_or_unknown_codes_get_a_clear_error(client, code, status):
    response = _enroll(client, code)
    assert response.status_code == status and response.json()["detail"]


def test_wrong_codes_void_the_code_after_five_tries(client, db):
    device, code = new_device(db)
    wrong = f"{device.id}-{'2' * 12}"
    for _ in range(devices.MAX_CODE_FAILURES):
        assert _enroll(client, wrong).status_code == 401
    assert _enroll(client, code).status_code == 401  # the real code no longer works: the admin re-issues one


def test_reissued_code_replaces_the_phone(client, db, make):
    device, token = enrolled_device(db)
    paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
    headers = _crew(client, paramedic, token)
    _, code = devices.reissue_code(session=db, actor=FACTORY_ACTOR, device_id=device.id)
    new_token = _enroll(client, code).json()["device_token"]
    assert new_token != token
    # The old phone's token and its crew sessions end when the new phone enrolls.
    assert _sign_in(client, paramedic, token).status_code == 401
    assert client.post("/api/v1/scans", json={"qr": ""}, headers=headers).status_code == 401
    assert _sign_in(client, paramedic, new_token).status_code == 200


def test_paramedic_signs_in_only_on_an_enrolled_device(client, db, make):
    paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
    refused = _sign_in(client, paramedic, None)
    assert refused.status_code == 401 and "登録されていません" in refused.json()["detail"]
    assert _sign_in(client, paramedic, "not-a-device-token").status_code == 401
    device, token = enrolled_device(db)
    ok = _sign_in(client, paramedic, token)
    assert ok.status_code == 200
    hours = get_settings().shift_hours
    assert ok.json()["expires_in"] == hours * 3600
    record = db.exec(select(AuthSession).where(AuthSession.user_id == paramedic.id)).one()
    assert record.device_id == device.id
    assert abs((record.expires_at - utcnow()) - timedelta(hours=hours)) < timedelta(minutes=1)


def test_other_roles_sign_in_without_a_device(client, personas, db):
    # Staff give their authenticator code instead (tests/auth/test_two_factor.py).
    r = client.post(
        "/api/v1/auth/token",
        data={
            "username": personas.staff.username,
            "password": TEST_PASSWORD,
            "totp": next_totp_code(db, personas.staff),
        },
    )
    assert r.status_code == 200


def test_disabled_device_stops_at_its_next_contact(client, db, make, login, personas):
    device, token = enrolled_device(db)
    paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
    headers = _crew(client, paramedic, token)
    assert client.post("/api/v1/scans", json={"qr": "x"}, headers=headers).status_code == 200
    admin = login(personas.admin)
    assert admin.post(f"/admin/devices/{device.id}/disable", follow_redirects=False).status_code == 303
    stopped = client.post("/api/v1/scans", json={"qr": "x"}, headers=headers)
    assert stopped.status_code == 401 and stopped.json()["detail"] == devices.DISABLED_MESSAGE
    assert db.exec(select(AuthSession).where(AuthSession.user_id == paramedic.id)).one().revoked_at is not None
    again = _sign_in(client, paramedic, token)
    assert again.status_code == 401 and again.json()["detail"] == devices.DISABLED_MESSAGE
    assert "使用停止" in admin.get("/admin/devices").text
    assert admin.post(f"/admin/devices/{device.id}/code").status_code == 409


def test_paramedic_session_without_a_device_cannot_scan(login, personas):
    # A web sign-in (cookie) is not bound to any device.
    response = login(personas.paramedic).post("/api/v1/scans", json={"qr": "x"})
    assert response.status_code == 401 and "登録された端末" in response.json()["detail"]


def test_last_seen_is_noted_at_most_once_a_minute(client, db, make):
    device, token = enrolled_device(db)
    paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
    headers = _crew(client, paramedic, token)
    device.last_seen_at = utcnow() - timedelta(minutes=5)
    db.add(device)
    db.commit()
    client.post("/api/v1/scans", json={"qr": "x"}, headers=headers)
    db.refresh(device)
    seen = device.last_seen_at
    assert utcnow() - seen < timedelta(seconds=30)
    client.post("/api/v1/scans", json={"qr": "x"}, headers=headers)
    db.refresh(device)
    assert device.last_seen_at == seen


def test_sign_out_ends_the_crew_session(client, db, make):
    _, token = enrolled_device(db)
    paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
    headers = _crew(client, paramedic, token)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.post("/api/v1/scans", json={"qr": "x"}, headers=headers).status_code == 401


SCAN_ROUTES = [
    ("POST", "/api/v1/scans", {"qr": "x"}),
    ("POST", "/api/v1/scans/card-number", {"card_number": "0000-0000-0000-0000-01"}),
    (
        "POST",
        "/api/v1/scans/offline",
        {"client_id": str(uuid.uuid4()), "card_id": "0123456789abcdef", "serial": 1, "scanned_at": "2026-12-08T01:00Z"},
    ),
    ("POST", "/api/v1/scans/1/destination", {"institution_id": 1}),
    ("GET", "/api/v1/scans/1/destination", None),
]


@pytest.mark.parametrize("sent", ["missing", "another device", "not a device"])
def test_a_crew_session_is_used_only_with_the_device_it_is_bound_to(client, db, make, sent):
    _, token = enrolled_device(db, "加須8号救急車 端末")
    _, other = enrolled_device(db, "加須9号救急車 端末")
    headers = _crew(client, make.user("paramedic", organisation=FIRE_DEPARTMENT), token)
    headers = {k: v for k, v in headers.items() if k != DEVICE_HEADER} | {
        "another device": {DEVICE_HEADER: other},
        "not a device": {DEVICE_HEADER: "x" * 43},
        "missing": {},
    }[sent]
    before = db.exec(select(func.count()).select_from(AuditEvent)).one()
    for method, path, body in SCAN_ROUTES:
        refused = client.request(method, path, json=body, headers=headers)
        assert refused.status_code == 401, (method, path, refused.text)
        assert refused.json()["detail"] == WRONG_DEVICE_MESSAGE
    assert db.exec(select(func.count()).select_from(AuditEvent)).one() == before
