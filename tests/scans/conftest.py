"""Scanning is for paramedics on an enrolled device: their test sessions are bound to one."""

import pytest

from tests.ems.helpers import device_login


@pytest.fixture
def login(login, db):
    return device_login(login, db)
