"""Cards signed before the low-s rule: about half carry a high-s signature, which verifiers now refuse.

The service finds the active ones among the stored credentials and replaces each with a new card
(serial + 1, signed low-s by the active key), the old one superseded at once. The command around
it (`lifeline keys reissue-cards --high-s`) and the start-up warning are tested against a committed
database in tests/operations/test_card_key_compromise.py.
"""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from app.cards import service as cards
from app.cards.cose import P256_HALF_ORDER, P256_ORDER
from app.cards.credential import Status, verify
from app.cards.models import Card, CardStatus, RevokeReason
from app.cards.qr import cose_from_qr, qr_segments, segments_text
from card_printing import qr
from tests.factories import FACTORY_ACTOR


def s_of(qr_text: str) -> int:
    return int.from_bytes(cose_from_qr(qr_text)[-32:], "big")


def make_high_s(card: Card) -> None:
    """Store the card as the issuer wrote it before the low-s rule about half the time: s replaced by n − s,
    in its QR text and in the QR symbol kept for printing."""
    cose = cose_from_qr(card.qr_text)
    high = cose[:-32] + (P256_ORDER - s_of(card.qr_text)).to_bytes(32, "big")
    segments = qr_segments(high, base_url=card.qr_text.split("/C/", 1)[0])
    card.qr_text = segments_text(segments)
    card.qr_symbol = qr.to_bytes(qr.encode(segments), text=card.qr_text)


def _check(db, text):
    return verify(
        text,
        keys=cards.keystore().verification_keys(),
        revocations=cards.revocations(session=db),
        now=int(time.time()),
    )


@pytest.fixture
def issued(make, db) -> list[Card]:
    """Four persons' cards: two made high-s, of which one is then cancelled."""
    holders = [make.person() for _ in range(4)]
    for person in holders:
        make.consent(person)
    issued = [cards.issue(session=db, actor=FACTORY_ACTOR, person_id=p.id) for p in holders]
    for card in issued[:2]:
        make_high_s(card)
        db.add(card)
    db.commit()
    cards.revoke(session=db, actor=FACTORY_ACTOR, person_id=holders[1].id, reason=RevokeReason.moved)
    return issued


def test_the_high_s_twin_of_a_stored_card_scans_as_forged(issued, db):
    assert s_of(issued[0].qr_text) > P256_HALF_ORDER
    assert _check(db, issued[0].qr_text).status == Status.FORGED
    assert _check(db, issued[2].qr_text).status == Status.GENUINE


def test_only_active_cards_with_a_high_s_signature_are_found(issued, db):
    assert cards.active_high_s(session=db) == 1
    found = list(cards.high_s_batches(session=db, batch=1))
    assert [[c.id for c in chunk] for chunk in found] == [[issued[0].id]]
    assert [c.id for chunk in cards.high_s_batches(session=db) for c in chunk] == [issued[0].id]


def test_reissue_high_s_replaces_them_with_low_s_cards(issued, db):
    old = issued[0]
    assert cards.reissue_high_s(session=db, actor=FACTORY_ACTOR, batch=1) == 1
    db.refresh(old)
    assert old.status == CardStatus.superseded and old.revoke_reason == RevokeReason.other
    new = cards.current(session=db, person_id=old.person_id)
    assert (new.card_id, new.serial, new.printed_at) == (old.card_id, old.serial + 1, None)
    assert s_of(new.qr_text) <= P256_HALF_ORDER
    assert _check(db, new.qr_text).status == Status.GENUINE
    assert qr.from_bytes(new.qr_symbol, text=new.qr_text) == qr.encode(cards.qr_segments_for(new))
    # The others are untouched: the low-s cards and the cancelled high-s one.
    assert [db.get(Card, c.id).status for c in issued[1:]] == [CardStatus.revoked, CardStatus.active, CardStatus.active]
    assert cards.active_high_s(session=db) == 0
    assert cards.reissue_high_s(session=db, actor=FACTORY_ACTOR) == 0
    assert len(db.exec(select(Card).where(Card.card_id == old.card_id)).all()) == 2
