"""Every route, as every kind of signed-in user, with hostile text in every query parameter, text
path parameter and form field the templates know: a clear answer, never a server error.

schemathesis (test_openapi.py) covers the JSON API from its schema; the web UI's forms are read
as form data and are in no schema, so this walks the routers instead (app.main.routers, as the
authorization test does). Two values carry what broke routes before: markup and a NUL (PostgreSQL
refuses it in text; the directory form answered 500 there), short enough to pass the length
checks, and the same with more text than any column holds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.auth import service as auth
from app.auth.deps import SESSION_COOKIE
from app.core.config import get_settings
from app.main import routers

pytestmark = pytest.mark.fuzz

SHORT = "<script>&amp;\x00見本"
HOSTILE = {"short": SHORT, "long": SHORT + "長" * 3000}
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Form fields: literal ``name="…"`` and the first argument of the form macros (templates/_macros).
_FIELD = re.compile(r'name="([a-z_0-9]+)"|\b(?:field|input|text|select|textarea|checkbox)\(["\']([a-z_0-9]+)["\']')
FIELDS = sorted(
    {a or b for path in TEMPLATES.rglob("*.html") for a, b in _FIELD.findall(path.read_text(encoding="utf-8"))}
)


@pytest.fixture(autouse=True)
def generous_limits(monkeypatch):
    """Rate limits stay on, high enough that every call reaches its handler (test_ratelimit covers 429)."""
    for name in ("sign_in", "sign_in_user", "code", "scan", "card_page", "fhir"):
        monkeypatch.setattr(get_settings(), f"rate_limit_{name}", "100000/minute")


def _calls(ids: dict[str, int], value: str):
    """(method, path, query) for every route: known ids where the path names one, ``value`` elsewhere."""
    for route in (r for router in routers() for r in router.routes if isinstance(r, APIRoute)):
        query = {p.name: value[:600] for p in route.dependant.query_params}  # a URL has room for less
        texts = {p.name for p in route.dependant.path_params if p.field_info.annotation is str}

        def fill(match: re.Match, texts: set[str] = texts) -> str:
            name = match.group(1).split(":")[0]
            return "%3Cb%3E%00x" if name in texts else str(ids.get(name, 1))

        path = re.sub(r"\{([^}]+)\}", fill, route.path)
        for method in sorted(route.methods - {"HEAD"}):
            yield method, path, query


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("role", ["admin", "staff", "doctor", "paramedic", "resident"])
def test_no_route_answers_a_server_error_to_hostile_text(role, value, app, db, make, personas):
    assert len(FIELDS) > 60, "the templates' form fields were not found"
    user = getattr(personas, role)
    # Routes acting on an account get one of their own, so the persona stays signed in and active.
    ids = {
        "person_id": personas.patient.id,
        "household_id": personas.household.id,
        "user_id": make.user(role="staff").id,
    }
    client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    client.get("/login")
    client.headers["x-csrftoken"] = client.cookies.get("csrftoken", "")
    form = {name: HOSTILE[value] for name in FIELDS}
    failures, answered = [], 0
    for method, path, query in _calls(ids, HOSTILE[value]):
        # A fresh session for each call: a route that signs out ends only that one.
        token, _ = auth.start_session(session=db, user=user, kind="web")
        client.cookies.set(SESSION_COOKIE, token)
        try:
            status = client.request(method, path, params=query, data=None if method == "GET" else form).status_code
        except Exception as exc:  # noqa: BLE001 - the TestClient re-raises what the server did not handle
            status = f"{type(exc).__name__}: {str(exc)[:200]}"
        if not isinstance(status, int) or status >= 500:
            failures.append((method, path, status))
        answered += 1
    client.close()
    db.refresh(user)
    assert user.is_active and answered > 150
    assert not failures, failures
