"""Residents' tests: paramedics scan on an enrolled device (the anonymous client is tests/conftest.py's)."""

import pytest

from tests.ems.helpers import device_login


@pytest.fixture
def login(login, db):
    return device_login(login, db)
