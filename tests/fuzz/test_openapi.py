"""schemathesis against the OpenAPI schema: no server error, responses as declared (issue 9).

Each operation is called as the persona the route is meant for (staff API token, a paramedic on
an enrolled device, a network client's FHIR token), so generated data reaches the handlers, not
only the sign-in check. The database is the real one of the test run, rolled back per operation.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.auth import service as auth
from app.core.config import get_settings
from app.devices.deps import DEVICE_HEADER
from app.directory.models import Institution
from app.main import create_app
from app.network import clients
from tests.ems.helpers import enrolled_device

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(autouse=True)
def generous_limits(monkeypatch):
    """Rate limits stay on, high enough that generated calls reach the handlers (tests/core/test_ratelimit.py: 429)."""
    settings = get_settings()
    for name in ("sign_in", "sign_in_user", "code", "scan", "card_page", "fhir"):
        monkeypatch.setattr(settings, f"rate_limit_{name}", "100000/minute")


@pytest.fixture
def credentials(db, personas):
    """Headers per kind of caller."""
    staff_token, _ = auth.start_session(session=db, user=personas.staff, kind="api")
    device, device_token = enrolled_device(db)
    crew_token, _ = auth.start_session(session=db, user=personas.paramedic, kind="api", device_id=device.id)
    hospital = Institution(name="見本総合病院（試験）", kind="hospital")
    db.add(hospital)
    db.commit()
    client, secret = clients.create(session=db, institution_id=hospital.id, created_by="テスト")
    fhir_token, _ = clients.issue_token(session=db, client_id=client.client_id, client_secret=secret)
    return {
        "staff": {"Authorization": f"Bearer {staff_token}"},
        "crew": {"Authorization": f"Bearer {crew_token}", DEVICE_HEADER: device_token},
        "fhir": {"Authorization": f"Bearer {fhir_token}"},
    }


def caller_for(path: str) -> str:
    if path.startswith("/fhir/"):
        return "fhir"
    if path.startswith("/api/v1/scans"):
        return "crew"
    return "staff"


# The schema depends only on the routes; each call goes to the test's own app (its rolled-back connection).
# (schemathesis.pytest.from_fixture would be the natural loader, but its node renaming fails on pytest 9.)
pytestmark = pytest.mark.fuzz
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(run_migrations=False))


# 25 cases per operation in every run; LIFELINE_FUZZ_EXAMPLES=500 for a deeper search (README, "Tests").
EXAMPLES = int(os.environ.get("LIFELINE_FUZZ_EXAMPLES", "25"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, app, credentials):
    headers = dict(case.headers or {})
    headers.update(credentials[caller_for(case.path)])
    case.call_and_validate(headers=headers, checks=CHECKS, app=app)
