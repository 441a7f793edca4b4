"""The card's QR symbol stored at issuance: printed as stored, encoded and stored when missing or not the card's own."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import update

from app.cards import service as cards
from app.cards.models import Card
from app.core.errors import DomainError
from app.printing import batch
from card_printing import qr
from tests.factories import FACTORY_ACTOR
from tests.printing.conftest import check_genuine, qr_texts


def _print(kind, db, person_ids, audit=lambda action, people: None) -> bytes:
    out = io.BytesIO()
    runner = {"sheets": batch.print_sheets, "cards": batch.print_cards}[kind]
    runner(engine=db.connection(), actor=FACTORY_ACTOR, person_ids=person_ids, out=out, audit=audit)
    db.expire_all()
    return out.getvalue()


def _issue(db, person) -> Card:
    return cards.ensure_issued(session=db, actor=FACTORY_ACTOR, person_id=person.id)


def _store(db, card: Card, symbol: bytes | None) -> None:
    db.exec(update(Card).where(Card.id == card.id).values(qr_symbol=symbol))
    db.commit()
    db.expire_all()


def _own_symbol(card: Card) -> bytes:
    return qr.to_bytes(qr.encode(cards.qr_segments_for(card)), text=card.qr_text)


def _no_encoding(monkeypatch) -> None:
    def refuse(segments):
        raise AssertionError("the stored symbol should have been printed, not a new encoding")

    monkeypatch.setattr(qr, "encode", refuse)


@pytest.mark.parametrize("kind", ["sheets", "cards"])
def test_the_stored_symbol_is_printed_and_reads_as_the_cards_qr_text(db, world, monkeypatch, kind):
    card = _issue(db, world.taro)
    assert card.qr_symbol == _own_symbol(card)
    _no_encoding(monkeypatch)
    pdf = _print(kind, db, [world.taro.id])
    for dpi, blur in ((300, 0), (150, 0.8)):
        assert qr_texts(pdf, 0, dpi=dpi, blur=blur) == [card.qr_text], (dpi, blur)
    check_genuine(db, card.qr_text, world.taro)


def test_a_card_without_a_stored_symbol_prints_and_gets_it_stored(db, world, monkeypatch):
    card = _issue(db, world.taro)
    _store(db, card, None)  # a card issued before migration 0012
    pdf = _print("sheets", db, [world.taro.id])
    assert qr_texts(pdf, 0) == [card.qr_text]
    db.refresh(card)
    assert card.qr_symbol == _own_symbol(card)
    # The next print only unpacks it.
    _no_encoding(monkeypatch)
    assert qr_texts(_print("sheets", db, [world.taro.id]), 0) == [card.qr_text]


def test_a_stored_symbol_of_another_text_is_never_printed_and_is_replaced(db, world):
    taro, ume = _issue(db, world.taro), _issue(db, world.ume)
    _store(db, taro, ume.qr_symbol)
    pdf = _print("cards", db, [world.taro.id])
    assert qr_texts(pdf, 0) == [taro.qr_text]
    db.refresh(taro)
    assert taro.qr_symbol == _own_symbol(taro)


def test_a_print_that_fails_stores_no_symbol(db, world):
    card = _issue(db, world.taro)
    _store(db, card, None)

    def refuse(action, people):
        raise DomainError("アクセス記録を書き込めないため、印刷を中止しました。")

    with pytest.raises(DomainError):
        _print("sheets", db, [world.taro.id], audit=refuse)
    db.refresh(card)
    assert card.qr_symbol is None
