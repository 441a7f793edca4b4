"""GET /C/{payload}: the page a phone's own camera opens from the card's QR code."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from app.cards import service as cards
from tests.factories import FACTORY_ACTOR


@pytest.fixture
def card(personas, make, db):
    make.consent(personas.patient)
    make.entry(personas.patient, text="ワルファリン錠1mg", is_anticoagulant=True)
    return cards.issue(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id)


def test_public_card_page_links_to_the_app(client, card):
    page = client.get(card.qr_text.split("127.0.0.1:8000", 1)[-1])
    link = page.text.split('class="button primary wide ems-open" href="', 1)[1].split('"', 1)[0]
    assert link.startswith("/ems/#qr=")
    assert unquote(link.removeprefix("/ems/#qr=")) == "http://testserver/C/" + card.qr_text.rsplit("/", 1)[1]
    assert "救急隊員：救急アプリで開く" in page.text
