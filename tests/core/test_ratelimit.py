"""Rate limits (app/core/ratelimit.py): every class of endpoint answers 429 with Retry-After after its limit.

Limits are on in every test (conftest resets the counters); here they are lowered so a few requests reach them.
"""

from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.config import get_settings
from app.directory.models import Institution
from app.network import clients
from tests.ems.helpers import FIRE_DEPARTMENT, enrolled_device
from tests.factories import TEST_PASSWORD

JAPANESE = "操作が多すぎます"
DEVICE_HEADER = "X-Lifeline-Device"


@pytest.fixture
def limits(monkeypatch):
    """``limits(scan="2/minute", …)`` lowers limits for this test."""
    settings = get_settings()

    def _set(**values):
        for name, value in values.items():
            monkeypatch.setattr(settings, f"rate_limit_{name}", value)

    return _set


def _assert_limited_page(response):
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"].startswith("text/html") and JAPANESE in response.text


def _assert_limited_problem(response):
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 429 and JAPANESE in problem["detail"]


def test_web_sign_in_is_limited_per_address(anonymous, personas, limits):
    limits(sign_in="3/minute")
    client = anonymous()
    for n in range(3):
        assert client.post("/login", data={"username": f"nobody-{n}", "password": "wrong password!"}).status_code == 401
    _assert_limited_page(client.post("/login", data={"username": personas.staff.username, "password": TEST_PASSWORD}))


def test_web_sign_in_is_limited_per_user_name_typed(anonymous, personas, limits):
    limits(sign_in_user="2/minute")
    client = anonymous()
    for _ in range(2):
        assert client.post("/login", data={"username": "Mihon-Taro", "password": "wrong password!"}).status_code == 401
    # The same name however it is typed (case, spaces) is one key; another name is not affected.
    _assert_limited_page(client.post("/login", data={"username": " mihon-taro ", "password": "wrong password!"}))
    assert client.post("/login", data={"username": "someone-else", "password": "wrong password!"}).status_code == 401


def test_english_speakers_get_the_message_in_english(anonymous, limits):
    limits(sign_in="1/minute")
    client = anonymous()
    client.cookies.set("lang", "en")
    client.post("/login", data={"username": "x", "password": "y"})
    r = client.post("/login", data={"username": "x", "password": "y"})
    assert r.status_code == 429 and "Too many attempts" in r.text


def test_api_token_endpoint_answers_a_json_problem(anonymous, limits):
    limits(sign_in="2/minute")
    client = anonymous()
    for _ in range(2):
        assert (
            client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong password!"}).status_code
            == 401
        )
    _assert_limited_problem(
        client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong password!"})
    )


def test_resident_code_sign_in_is_limited(anonymous, limits):
    limits(code="2/minute")
    client = anonymous()
    form = {
        "code": "ABCD-EFGH-JKMN",
        "birth_date": "昭和15年3月2日",
        "username": "mihon",
        "password": "x",
        "password2": "x",
    }
    for _ in range(2):
        assert client.post("/me/start", data=form).status_code in (401, 422)
    _assert_limited_page(client.post("/me/start", data=form))


def test_device_enrolment_code_is_limited(anonymous, limits):
    limits(code="2/minute")
    client = anonymous()
    for _ in range(2):
        assert client.post("/api/v1/devices/enroll", json={"code": "1-AAAA-BBBB-CCCC"}).status_code == 401
    _assert_limited_problem(client.post("/api/v1/devices/enroll", json={"code": "1-AAAA-BBBB-CCCC"}))


def _crew_on_device(client, db, make, name: str) -> dict[str, str]:
    """Bearer and device headers of a paramedic signed in on a new enrolled device, as the field app sends them."""
    _, token = enrolled_device(db, name)
    paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
    signed = client.post(
        "/api/v1/auth/token",
        data={"username": paramedic.username, "password": TEST_PASSWORD},
        headers={DEVICE_HEADER: token},
    )
    return {"Authorization": f"Bearer {signed.json()['access_token']}", DEVICE_HEADER: token}


def test_scans_are_limited_per_device(client, db, make, limits):
    limits(scan="3/minute")
    first = _crew_on_device(client, db, make, "加須1号救急車 端末")
    second = _crew_on_device(client, db, make, "加須2号救急車 端末")
    body = {"qr": "HTTPS://EXAMPLE/C/123", "incident": "R8-0001", "reason": ""}
    for _ in range(3):
        assert client.post("/api/v1/scans", json=body, headers=first).status_code == 200
    _assert_limited_problem(client.post("/api/v1/scans", json=body, headers=first))
    # Every scan route shares the device's allowance.
    _assert_limited_problem(client.post("/api/v1/scans/card-number", json={"card_number": "1"}, headers=first))
    # Another ambulance's count is its own.
    assert client.post("/api/v1/scans", json=body, headers=second).status_code == 200


def test_a_random_device_header_per_request_does_not_escape_the_limit(client, db, make, limits):
    limits(scan="3/minute")
    crew = _crew_on_device(client, db, make, "加須1号救急車 端末")
    body = {"qr": "HTTPS://EXAMPLE/C/123", "incident": "R8-0001", "reason": ""}
    before = db.exec(select(func.count()).select_from(AuditEvent)).one()
    answers = [
        client.post("/api/v1/scans", json=body, headers=crew | {DEVICE_HEADER: secrets.token_urlsafe(32)}).status_code
        for _ in range(10)
    ]
    # Refused before any scan work: no verification, no audit record, whatever the header says.
    assert answers == [401] * 10
    assert db.exec(select(func.count()).select_from(AuditEvent)).one() == before
    for _ in range(3):
        assert client.post("/api/v1/scans", json=body, headers=crew).status_code == 200
    _assert_limited_problem(client.post("/api/v1/scans", json=body, headers=crew))
    # Once the device is over its limit, a header of another device does not open a new allowance.
    other = enrolled_device(db, "加須3号救急車 端末")[1]
    assert client.post("/api/v1/scans", json=body, headers=crew | {DEVICE_HEADER: other}).status_code == 401
    assert db.exec(select(func.count()).select_from(AuditEvent)).one() == before + 3


def test_default_scan_limit_lets_a_busy_crew_work():
    from limits import parse_many

    assert min(item.amount * 60 / item.get_expiry() for item in parse_many(get_settings().rate_limit_scan)) >= 60


def test_public_card_page_is_limited(anonymous, limits):
    limits(card_page="2/minute")
    client = anonymous()
    for _ in range(2):
        assert client.get("/C/123").status_code == 200
    _assert_limited_page(client.get("/C/123"))


def test_fhir_api_is_limited_per_client(app, db, limits):
    limits(fhir="3/minute")
    hospital = Institution(name="見本総合病院（試験）", kind="hospital")
    db.add(hospital)
    db.commit()
    client, secret = clients.create(session=db, institution_id=hospital.id, created_by="テスト")
    first, _ = clients.issue_token(session=db, client_id=client.client_id, client_secret=secret)
    second, _ = clients.issue_token(session=db, client_id=client.client_id, client_secret=secret)
    with TestClient(app, base_url="http://testserver") as http:
        for _ in range(3):
            assert http.get("/fhir/r4/Patient/1", headers={"Authorization": f"Bearer {first}"}).status_code == 404
        # A fresh token of the same client shares the allowance.
        r = http.get("/fhir/r4/Patient/1", headers={"Authorization": f"Bearer {second}"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["resourceType"] == "OperationOutcome" and JAPANESE in r.json()["issue"][0]["diagnostics"]


def test_fhir_token_endpoint_is_limited_per_address(app, limits):
    limits(fhir="2/minute")
    with TestClient(app, base_url="http://testserver") as http:
        for _ in range(2):
            assert (
                http.post(
                    "/fhir/r4/auth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "nothing")
                ).status_code
                == 401
            )
        r = http.post("/fhir/r4/auth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "nothing"))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["resourceType"] == "OperationOutcome"


def test_a_malformed_limit_refuses_to_start():
    from pydantic import ValidationError

    from app.core.config import Settings

    with pytest.raises(ValidationError):
        Settings(rate_limit_scan="a lot")
