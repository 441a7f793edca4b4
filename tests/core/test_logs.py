"""Logs: JSON lines with a request id, access lines by route template, no personal data.

A whole journey (staff search by name, person page, a crew scanning the card, the public card
page, a resident's first sign-in with the letter's code) is logged through the real middleware and
formatter; none of the fictional person's identifying or medical text may appear."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from datetime import date
from urllib.parse import quote

import pytest

from app.cards import service as cards
from app.core import logs
from app.core.config import ROOT_DIR, Settings
from app.residents import service as codes
from card_printing.letter import format_code
from tests.ems.helpers import device_login
from tests.factories import FACTORY_ACTOR

NAME = ("鷺ノ宮", "琥珀")
KANA = ("サギノミヤ", "コハク")
BIRTH = date(1938, 7, 14)
MEDICATION = "エリキュースQQ錠2.5mg"
PASSPHRASE = "kohaku no kusuri techo 1938"


@pytest.fixture
def captured():
    """Every record the service logs, formatted as production formats it (JSON, request id)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.json_formatter())
    handler.addFilter(logs.RequestIdFilter())
    # httpx is the *test's* client, logging the URLs it calls; the server never uses it.
    handler.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def _lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_journey_leaves_no_personal_data_in_the_logs(make, db, login, personas, anonymous, captured):
    person = make.person(
        personas.household,
        family_name=NAME[0],
        given_name=NAME[1],
        family_name_kana=KANA[0],
        given_name_kana=KANA[1],
        birth_date=BIRTH,
    )
    make.entry(person, text=MEDICATION, is_anticoagulant=True)
    make.consent(person)
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=person.id)
    payload = card.qr_text.split("/C/", 1)[1]
    code = codes.issue_access_code(session=db, household_id=personas.household.id)

    staff = login(personas.staff)
    assert staff.get("/staff/search", params={"q": NAME[0]}, headers={"HX-Request": "true"}).status_code == 200
    assert staff.get("/staff/", params={"q": KANA[0]}).status_code == 200
    assert staff.get("/staff/", params={"q": "昭和13年7月14日"}).status_code == 200
    page = staff.get(f"/staff/persons/{person.id}")
    assert page.status_code == 200 and MEDICATION in page.text

    crew = device_login(login, db)(personas.paramedic)
    scan = crew.post("/api/v1/scans", json={"qr": card.qr_text, "incident": "R8-77777", "reason": "意識障害"})
    assert scan.status_code == 200 and MEDICATION in scan.text
    assert anonymous().get(f"/C/{payload}").status_code == 200

    resident = anonymous()
    start = resident.post(
        "/me/start",
        data={
            "code": format_code(code),
            "birth_date": "S13.7.14",
            "username": "kohaku-family",
            "display_name": "家族",
            "password": PASSPHRASE,
            "password2": PASSPHRASE,
        },
        follow_redirects=False,
    )
    assert start.status_code == 303
    assert resident.get("/me/").status_code == 200

    lines = _lines(captured)
    text = captured.getvalue()
    secrets = [
        *NAME,
        *KANA,
        "".join(NAME),
        BIRTH.isoformat(),
        "昭和13",
        "S13.7.14",
        MEDICATION,
        "エリキュース",
        payload,
        payload.lower(),
        code,
        format_code(code),
        PASSPHRASE,
        "kohaku-family",
        "R8-77777",
        "意識障害",
    ]
    assert not [s for s in secrets if s in text or quote(s) in text], "personal data in the logs"

    access = [line for line in lines if line["logger"] == logs.ACCESS_LOGGER]
    routes = {line["route"] for line in access}
    assert {
        "/staff/search",
        "/staff/",
        "/staff/persons/{person_id}",
        "/api/v1/scans",
        "/C/{payload}",
        "/me/start",
        "/me/",
    } <= routes
    assert all(set(line) >= {"time", "level", "logger", "message", "request_id"} for line in lines)
    assert all(set(line) >= {"method", "route", "status", "duration_ms"} for line in access)
    assert all(len(line["request_id"]) == 32 for line in access)
    assert len({line["request_id"] for line in access}) == len(access)  # one id per request
    assert scan.headers["x-request-id"] in {line["request_id"] for line in access if line["route"] == "/api/v1/scans"}
    # Lines written while a request runs (the audit writer, errors) carry its id too.
    assert {line["request_id"] for line in lines if line["logger"] != logs.ACCESS_LOGGER} <= {
        line["request_id"] for line in access
    } | {"-"}


def test_unknown_paths_and_a_proxys_request_id(anonymous, captured):
    client = anonymous()
    r = client.get("/C-typo/SECRETPAYLOAD123?name=鷺ノ宮", headers={"X-Request-ID": "nginx-0123456789abcdef"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "nginx-0123456789abcdef"
    injected = client.get("/healthz", headers={"X-Request-ID": 'x" injected'})
    assert injected.headers["x-request-id"] != 'x" injected'
    assert client.get("/static/css/app.css?q=鷺ノ宮").status_code == 200
    text = captured.getvalue()
    assert "SECRETPAYLOAD123" not in text and "鷺ノ宮" not in text and "injected" not in text
    routes = [(line["route"], line["request_id"]) for line in _lines(captured) if line["logger"] == logs.ACCESS_LOGGER]
    assert ("<no route>", "nginx-0123456789abcdef") in routes
    assert "/static/{path}" in {route for route, _ in routes}


@pytest.mark.parametrize(
    ("environment", "expected"), [("production", "json"), ("development", "text"), ("test", "text")]
)
def test_json_in_production_text_in_development(environment, expected):
    settings = Settings.model_construct(**Settings().model_dump() | {"environment": environment})
    assert logs.log_format(settings) == expected
    assert logs.log_format(Settings.model_construct(**settings.model_dump() | {"log_format": "json"})) == "json"


def test_the_configuration_silences_uvicorns_access_log_and_formats_json():
    """The dictConfig `lifeline serve` hands to uvicorn, applied in a process of its own."""
    script = (
        "import logging; from app.core import logs; logs.configure();"
        "logging.getLogger('uvicorn.access').info('%s - \"%s %s HTTP/1.1\" %d', '127.0.0.1', 'GET', '/C/PAYLOAD?q=x', "
        "200);"
        "logging.getLogger('uvicorn.error').info('Started server process');"
        "logging.getLogger('app.test').warning('外部の値 %s', 1)"
    )
    env = {"PATH": "/usr/bin:/bin", "LIFELINE_LOG_FORMAT": "json", "LIFELINE_ENVIRONMENT": "test"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT_DIR, env=env, capture_output=True, text=True, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn.error", "Started server process"),
        ("app.test", "外部の値 1"),
    ]
    assert all(line["request_id"] == "-" and "color_message" not in line for line in lines)
