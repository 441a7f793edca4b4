"""Residents' tests: paramedics scan on an enrolled device; an anonymous client with a CSRF token."""
import pytest
from fastapi.testclient import TestClient

from tests.ems.helpers import device_login


@pytest.fixture
def login(login, db):
    return device_login(login, db)


@pytest.fixture
def anonymous(app):
    clients = []

    def _new() -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        clients.append(c)
        c.get("/login")
        c.headers["x-csrftoken"] = c.cookies.get("csrftoken", "")
        return c

    yield _new
    for c in clients:
        c.close()
