"""Card lifecycle: issue, reissue (lost/damaged), revoke; the published key set and revocation list."""
from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import Session, select

from app.cards.credential import CardClaims, issue_credential, new_card_id
from app.cards.keyset import b64url_encode
from app.cards.keystore import KeyStore, SigningKey
from app.cards.models import REISSUE_REASONS, Card, CardStatus, RevocationCounter, RevokeReason
from app.cards.qr import QrSegment, cose_from_qr, qr_segments
from app.cards.revocation import RevocationEntry, RevocationList, build_revocation_document
from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.errors import Conflict, Invalid, NotFound
from app.core.models import Actor
from app.history import service as history
from app.persons import dataset
from app.persons.models import Person, PersonStatus


@lru_cache
def _keystore_at(directory: Path) -> KeyStore:
    return KeyStore(directory)


def keystore() -> KeyStore:
    """The card-signing key store in the data directory (private keys never leave it)."""
    return _keystore_at(get_settings().resolved_data_dir / "keys" / "card")


def list_for_person(*, session: Session, person_id: int) -> list[Card]:
    """Every card ever issued to the person, newest first."""
    return list(session.exec(select(Card).where(Card.person_id == person_id).order_by(Card.serial.desc())))


def current(*, session: Session, person_id: int) -> Card | None:
    """The person's active card, if any."""
    return session.exec(select(Card).where(Card.person_id == person_id, Card.status == CardStatus.active)).first()


def find(*, session: Session, card_id: bytes, serial: int) -> Card | None:
    """The card a verified credential points to."""
    return session.exec(select(Card).where(Card.card_id == card_id.hex(), Card.serial == serial)).first()


def qr_segments_for(card: Card) -> list[QrSegment]:
    """The exact QR segments to print (alphanumeric prefix + numeric payload), for the smallest symbol."""
    prefix = card.qr_text.split("/C/", 1)[0]
    return qr_segments(cose_from_qr(card.qr_text), base_url=prefix)


def _history(session: Session, actor: Actor, person: Person, card: Card, action: str, old: str | None, new: str | None) -> None:
    history.record(session=session, actor=actor, entity="card", entity_id=card.id, action=action,
                   changes=[("card", old, new)], person_id=person.id, household_id=person.household_id)


@lru_cache(maxsize=4)
def _signer(directory: Path, kid: bytes) -> SigningKey:
    # Loading a PEM key costs more than signing; a batch of first prints issues thousands of cards.
    return _keystore_at(directory).signing_key()


def _issue(session: Session, actor: Actor, person: Person, *, card_id: bytes, serial: int) -> Card:
    store = keystore()
    signer = _signer(store.directory, store.ensure_active().kid)
    issued = issue_credential(claims=CardClaims(card_id=card_id, serial=serial, issued_at=int(time.time())),
                              signer=signer, base_url=get_settings().public_url)
    card = Card(person_id=person.id, card_id=card_id.hex(), serial=serial, issued_by=actor.name,
                kid=b64url_encode(signer.kid), qr_text=issued.text)
    session.add(card)
    session.flush()
    _history(session, actor, person, card, "create", None, card.card_number)
    return card


def _eligible(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("登録者が見つかりません")
    if person.status != PersonStatus.active:
        raise Invalid("転出・死亡の方にはカードを発行できません")
    if dataset.current_consent(session=session, person_id=person_id) is None:
        raise Invalid("同意が記録されていないため、カードを発行できません")
    return person


def issue(*, session: Session, actor: Actor, person_id: int, commit: bool = True) -> Card:
    """Issue the person's first card (or a new one after a cancellation)."""
    person = _eligible(session, person_id)
    if current(session=session, person_id=person_id) is not None:
        raise Conflict("この方には有効なカードが既にあります（紛失・破損の場合は再発行してください）")
    # A cancelled card id is never revived: after a revocation the person gets a new card id.
    card = _issue(session, actor, person, card_id=new_card_id(), serial=1)
    if commit:
        session.commit()
        session.refresh(card)
    return card


def ensure_issued(*, session: Session, actor: Actor, person_id: int, commit: bool = True) -> Card:
    """The person's active card, issued now if there is none (used by printing)."""
    return current(session=session, person_id=person_id) or issue(session=session, actor=actor, person_id=person_id, commit=commit)


def _bump_revocations(session: Session) -> None:
    session.exec(update(RevocationCounter).where(RevocationCounter.id == 1)
                 .values(version=RevocationCounter.version + 1, changed_at=utcnow()))


def _end(session: Session, actor: Actor, card: Card, status: CardStatus, reason: RevokeReason) -> None:
    card.status, card.revoke_reason = status, reason
    card.revoked_at, card.revoked_by = utcnow(), actor.name
    session.add(card)
    _bump_revocations(session)


def reissue(*, session: Session, actor: Actor, person_id: int, reason: RevokeReason) -> Card:
    """Replace a lost or damaged card: serial + 1, the previous card revoked at once."""
    if reason not in REISSUE_REASONS:
        raise Invalid("再発行の理由は紛失か破損です")
    person = _eligible(session, person_id)
    old = current(session=session, person_id=person_id)
    if old is None:
        raise Invalid("有効なカードがありません。新規に発行してください")
    _end(session, actor, old, CardStatus.superseded, reason)
    card = _issue(session, actor, person, card_id=bytes.fromhex(old.card_id), serial=old.serial + 1)
    session.commit()
    session.refresh(card)
    return card


def revoke(*, session: Session, actor: Actor, person_id: int, reason: RevokeReason, commit: bool = True) -> Card | None:
    """Cancel the person's active card (consent withdrawn, death, moving away); None if none."""
    card = current(session=session, person_id=person_id)
    if card is None:
        return None
    person = session.get(Person, person_id)
    _end(session, actor, card, CardStatus.revoked, reason)
    _history(session, actor, person, card, "update", card.card_number, f"revoked:{reason.value}")
    if commit:
        session.commit()
    return card


def mark_printed(*, session: Session, card: Card) -> None:
    """Remember when the card went to the printer."""
    card.printed_at = utcnow()
    session.add(card)


def revocation_entries(*, session: Session) -> list[RevocationEntry]:
    """One entry per card id: everything up to the newest serial if cancelled, else up to the one before it."""
    latest = (select(Card.card_id, func.max(Card.serial).label("serial")).group_by(Card.card_id).subquery())
    rows = session.exec(select(Card).join(latest, (Card.card_id == latest.c.card_id) & (Card.serial == latest.c.serial))).all()
    entries = []
    for card in rows:
        if card.status == CardStatus.active and card.serial > 1:
            entries.append(RevocationEntry(card_id=bytes.fromhex(card.card_id), serial=card.serial - 1,
                                           reason="superseded", superseded_by_serial=card.serial))
        elif card.status != CardStatus.active:
            entries.append(RevocationEntry(card_id=bytes.fromhex(card.card_id), serial=card.serial, reason="cancelled"))
    return entries


def revocation_version(*, session: Session) -> int:
    return session.exec(select(RevocationCounter.version).where(RevocationCounter.id == 1)).one()


def revocation_list(*, session: Session) -> RevocationList:
    """The current revocation list for server-side verification (no signature needed here)."""
    entries = revocation_entries(session=session)
    return RevocationList(version=revocation_version(session=session), issued_at=int(time.time()),
                          kid=b"", entries={e.card_id: e for e in entries})


_signed_cache: dict[tuple[int, str], dict] = {}


def revocation_document(*, session: Session) -> dict:
    """The signed list served to offline verifiers; re-signed only when the version or signing key changes."""
    store = keystore()
    store.ensure_active()
    key = (revocation_version(session=session), store.active().kid.hex())
    if key not in _signed_cache:
        _signed_cache.clear()
        _signed_cache[key] = build_revocation_document(entries=revocation_entries(session=session), version=key[0], keystore=store)
    return _signed_cache[key]
