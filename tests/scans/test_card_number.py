"""POST /api/v1/scans/card-number: the card number typed in when the QR code cannot be read."""

from __future__ import annotations

from app.cards import service as cards
from app.cards.models import RevokeReason
from tests.factories import FACTORY_ACTOR
from tests.scans.helpers import last_event


def test_card_number_lookup_shows_the_summary_and_is_audited(client, crew, card, db):
    headers = crew()
    typed = card.card_number.lower().replace("-", " ")
    body = client.post("/api/v1/scans/card-number", json={"card_number": typed, "incident": ""}, headers=headers).json()
    assert body["status"] == "genuine" and body["card_number"] == card.card_number and body["summary"]["name"]
    assert last_event(db, "scan.view").fields == "emergency_summary;card_number"
    missing = client.post(
        "/api/v1/scans/card-number", json={"card_number": "0000-0000-0000-0000-01"}, headers=headers
    ).json()
    assert missing["status"] == "not_found" and missing["summary"] is None
    assert last_event(db, "scan.verify").outcome == "not_found"


def test_card_number_of_a_replaced_card_says_revoked(client, crew, card, db, personas):
    cards.reissue(session=db, actor=FACTORY_ACTOR, person_id=personas.patient.id, reason=RevokeReason.lost)
    body = client.post("/api/v1/scans/card-number", json={"card_number": card.card_number}, headers=crew()).json()
    assert body["status"] == "revoked" and body["newer_card_exists"] and body["summary"] is None


def test_an_overlong_card_number_is_a_clear_422_and_recorded_as_unreadable(client, crew, db):
    typed = "374A-DF8F-AFC5-6999-01" * 10
    r = client.post("/api/v1/scans/card-number", json={"card_number": typed, "incident": "R8-9"}, headers=crew())
    assert r.status_code == 422
    issue = r.json()["detail"][0]
    assert issue["loc"] == ["body", "card_number"] and "40" in issue["msg"]
    event = last_event(db, "scan.verify")
    assert (event.outcome, event.incident, event.person_id) == ("malformed", "R8-9", None)
    assert event.fields == f"card_number;too_large;length={len(typed)};text={typed[:200]}"
