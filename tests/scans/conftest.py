"""Scanning is for paramedics on an enrolled device: their test sessions are bound to one, and
``crew`` signs a paramedic in on a device of their own, as the field app does."""

import pytest

from app.cards import service as cards
from tests.ems.helpers import FIRE_DEPARTMENT, device_login, enrolled_device
from tests.factories import FACTORY_ACTOR, TEST_PASSWORD

DEVICE_HEADER = "X-Lifeline-Device"


@pytest.fixture
def login(login, db):
    return device_login(login, db)


@pytest.fixture
def crew(client, db, make):
    """``crew(name)`` → headers of a new paramedic signed in on a new enrolled device."""

    def _crew(name: str = "加須1号救急車 端末") -> dict[str, str]:
        device, token = enrolled_device(db, name)
        paramedic = make.user("paramedic", organisation=FIRE_DEPARTMENT)
        signed = client.post(
            "/api/v1/auth/token",
            data={"username": paramedic.username, "password": TEST_PASSWORD},
            headers={DEVICE_HEADER: token},
        )
        return {"Authorization": f"Bearer {signed.json()['access_token']}", DEVICE_HEADER: token}

    return _crew


@pytest.fixture
def card(personas, make, db):
    """The patient's card, with an anticoagulant on it."""
    make.consent(personas.patient)
    make.entry(personas.patient, text="ワルファリン錠1mg", is_anticoagulant=True)
    return cards.issue(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id)
