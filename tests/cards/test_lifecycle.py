"""Card lifecycle against the real database and key store: issue, reissue, revoke, publish."""

import time

import pytest
from sqlmodel import select

from app.cards import service as cards
from app.cards.credential import Status, verify
from app.cards.keyset import KeySet
from app.cards.models import CardStatus, RevokeReason
from app.cards.revocation import verify_revocation_document
from app.core.errors import Conflict, Invalid
from app.history.models import Change
from card_printing import qr
from tests.factories import FACTORY_ACTOR


@pytest.fixture
def holder(make):
    person = make.person()
    make.consent(person)
    return person


def _check(db, text):
    return verify(
        text,
        keys=cards.keystore().verification_keys(),
        revocations=cards.revocation_list(session=db),
        now=int(time.time()),
    )


def test_issue_needs_consent_and_is_unique(make, db):
    person = make.person()
    with pytest.raises(Invalid):
        cards.issue(session=db, actor=FACTORY_ACTOR, person_id=person.id)
    make.consent(person)
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=person.id)
    assert card.serial == 1 and len(card.card_id) == 16 and card.qr_text.startswith("HTTP://127.0.0.1:8000/C/")
    with pytest.raises(Conflict):
        cards.issue(session=db, actor=FACTORY_ACTOR, person_id=person.id)
    assert cards.ensure_issued(session=db, actor=FACTORY_ACTOR, person_id=person.id).id == card.id
    assert _check(db, card.qr_text).status == Status.GENUINE
    assert db.exec(select(Change).where(Change.entity == "card", Change.person_id == person.id)).first()


def test_reissue_revokes_the_old_card_at_once(holder, db):
    first = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=holder.id)
    second = cards.reissue(session=db, actor=FACTORY_ACTOR, person_id=holder.id, reason=RevokeReason.lost)
    assert second.card_id == first.card_id and second.serial == 2
    db.refresh(first)
    assert first.status == CardStatus.superseded and first.revoke_reason == RevokeReason.lost
    old = _check(db, first.qr_text)
    assert old.status == Status.REVOKED and old.newer_card_exists
    assert _check(db, second.qr_text).status == Status.GENUINE
    with pytest.raises(Invalid):
        cards.reissue(session=db, actor=FACTORY_ACTOR, person_id=holder.id, reason=RevokeReason.deceased)


def test_issued_and_reissued_cards_store_the_symbol_of_their_qr_text(holder, db):
    first = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=holder.id)
    second = cards.reissue(session=db, actor=FACTORY_ACTOR, person_id=holder.id, reason=RevokeReason.damaged)
    for card in (first, second):
        db.refresh(card)
        # Module for module what encoding the text now gives (same version and mask too).
        assert qr.from_bytes(card.qr_symbol, text=card.qr_text) == qr.encode(cards.qr_segments_for(card))
    assert first.qr_symbol != second.qr_symbol


def test_withdrawing_consent_revokes_the_card(holder, login, personas, db):
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=holder.id)
    version = cards.revocation_version(session=db)
    c = login(personas.staff)
    assert (
        c.post(
            f"/staff/persons/{holder.id}/consent/withdraw", data={"reason": "本人の申し出"}, follow_redirects=False
        ).status_code
        == 303
    )
    db.refresh(card)
    assert card.status == CardStatus.revoked and card.revoke_reason == RevokeReason.consent_withdrawn
    result = _check(db, card.qr_text)
    assert result.status == Status.REVOKED and not result.newer_card_exists
    assert cards.revocation_version(session=db) == version + 1


def test_death_or_moving_revokes_the_card(holder, login, personas, db):
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=holder.id)
    c = login(personas.staff)
    form = {
        "family_name": holder.family_name,
        "given_name": holder.given_name,
        "family_name_kana": holder.family_name_kana,
        "given_name_kana": holder.given_name_kana,
        "birth_date": holder.birth_date.isoformat(),
        "status": "deceased",
        "version": str(holder.version),
    }
    r = c.post(f"/staff/persons/{holder.id}/edit", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    db.refresh(card)
    assert card.status == CardStatus.revoked and card.revoke_reason == RevokeReason.deceased


def test_staff_ui_issue_reissue_revoke(holder, login, personas, db):
    c = login(personas.staff)
    assert c.post(f"/staff/persons/{holder.id}/cards/issue", follow_redirects=False).status_code == 303
    page = c.get(f"/staff/persons/{holder.id}").text
    current = cards.current(session=db, person_id=holder.id)
    assert current.card_number in page and "有効" in page
    assert (
        c.post(
            f"/staff/persons/{holder.id}/cards/reissue", data={"reason": "damaged"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert (
        c.post(f"/staff/persons/{holder.id}/cards/revoke", data={"reason": "moved"}, follow_redirects=False).status_code
        == 303
    )
    page = c.get(f"/staff/persons/{holder.id}").text
    assert "有効なカードはありません" in page and "破損" in page and "転出" in page
    bad = c.post(f"/staff/persons/{holder.id}/cards/revoke", data={"reason": "nonsense"})
    assert bad.status_code == 422 and "理由を選んでください" in bad.text


def test_api_card_lifecycle(holder, login, personas):
    c = login(personas.staff)
    issued = c.post(f"/api/v1/persons/{holder.id}/cards")
    assert issued.status_code == 201 and issued.json()["serial"] == 1 and issued.json()["card_number"].endswith("-01")
    assert c.post(f"/api/v1/persons/{holder.id}/cards").status_code == 409
    again = c.post(f"/api/v1/persons/{holder.id}/cards/reissue", json={"reason": "lost"})
    assert again.status_code == 201 and again.json()["serial"] == 2
    assert [x["status"] for x in c.get(f"/api/v1/persons/{holder.id}/cards").json()] == ["active", "superseded"]


def test_published_keys_and_signed_revocations(holder, client, db):
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=holder.id)
    cards.reissue(session=db, actor=FACTORY_ACTOR, person_id=holder.id, reason=RevokeReason.lost)
    jwks = client.get("/.well-known/lifeline/keys.json")
    assert jwks.status_code == 200 and jwks.headers["cache-control"].startswith("public")
    doc = client.get("/.well-known/lifeline/revocations.json").json()
    listed = verify_revocation_document(doc, KeySet.from_jwks(jwks.json()))
    assert listed.version == cards.revocation_version(session=db)
    entry = listed.entry_for(card_id=bytes.fromhex(card.card_id), serial=1)
    assert entry is not None and entry.superseded_by_serial == 2
    # An offline verifier with only the published documents reaches the same verdict.
    offline = verify(card.qr_text, keys=KeySet.from_jwks(jwks.json()), revocations=listed, now=int(time.time()))
    assert offline.status == Status.REVOKED and offline.newer_card_exists


def test_rotation_keeps_printed_cards_valid(holder, db, client):
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=holder.id)
    cards.keystore().rotate()
    cards.keystore().rotate()
    assert _check(db, card.qr_text).status == Status.GENUINE
    assert len(client.get("/.well-known/lifeline/keys.json").json()["keys"]) >= 3


def test_card_url_page_shows_no_personal_data(holder, client, db):
    card = cards.issue(session=db, actor=FACTORY_ACTOR, person_id=holder.id)
    path = card.qr_text.split("127.0.0.1:8000", 1)[1]
    for url in (path, path.lower()):
        page = client.get(url)
        assert page.status_code == 200 and "本物のカードです" in page.text
        assert holder.family_name not in page.text and holder.given_name not in page.text
    forged = client.get(path[:-3] + ("000" if not path.endswith("000") else "111"))
    assert forged.status_code == 200 and "本物のカードです" not in forged.text
    assert client.get("/C/not-digits").status_code == 200
