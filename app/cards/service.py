"""Card lifecycle: issue, reissue (lost/damaged), revoke; the published key set and revocation list."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, select

from app.cards.cose import SIGNATURE_LENGTH, is_high_s
from app.cards.credential import CardClaims, issue_credential, new_card_id
from app.cards.errors import MalformedCredential
from app.cards.keyset import b64url_decode, b64url_encode
from app.cards.keystore import KeyStore, SigningKey
from app.cards.models import REISSUE_REASONS, Card, CardStatus, RevocationCounter, RevokeReason
from app.cards.qr import cose_from_qr, qr_segments
from app.cards.revocation import RevocationEntry, RevocationList, build_revocation_document
from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.errors import Conflict, Invalid, NotFound
from app.core.models import Actor
from app.history import service as history
from app.persons import dataset
from app.persons.models import Person, PersonStatus
from card_printing import qr as qr_symbols
from card_printing.qr import QrSegment


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


def store_qr_symbols(*, session: Session, symbols: Sequence[tuple[int, bytes]]) -> None:
    """Keep the QR symbols printing encoded for cards that had none stored: (card row id, ``qr.to_bytes``)."""
    stmt = (
        update(Card.__table__).where(Card.__table__.c.id == bindparam("row_id")).values(qr_symbol=bindparam("symbol"))
    )
    for start in range(0, len(symbols), 500):
        session.connection().execute(
            stmt, [{"row_id": row_id, "symbol": symbol} for row_id, symbol in symbols[start : start + 500]]
        )


def _history(
    session: Session, actor: Actor, person: Person, card: Card, action: str, old: str | None, new: str | None
) -> None:
    history.record(
        session=session,
        actor=actor,
        entity="card",
        entity_id=card.id,
        action=action,
        changes=[("card", old, new)],
        person_id=person.id,
        household_id=person.household_id,
    )


@lru_cache(maxsize=4)
def _signer(directory: Path, kid: bytes) -> SigningKey:
    # Loading a PEM key costs more than signing; a batch of first prints issues thousands of cards.
    return _keystore_at(directory).signing_key()


def _issue(session: Session, actor: Actor, person: Person, *, card_id: bytes, serial: int) -> Card:
    store = keystore()
    signer = _signer(store.directory, store.ensure_active().kid)
    issued = issue_credential(
        claims=CardClaims(card_id=card_id, serial=serial, issued_at=int(time.time())),
        signer=signer,
        base_url=get_settings().public_url,
    )
    symbol = qr_symbols.to_bytes(qr_symbols.encode(issued.segments), text=issued.text)
    card = Card(
        person_id=person.id,
        card_id=card_id.hex(),
        serial=serial,
        issued_by=actor.name,
        kid=b64url_encode(signer.kid),
        qr_text=issued.text,
        qr_symbol=symbol,
    )
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
    return current(session=session, person_id=person_id) or issue(
        session=session, actor=actor, person_id=person_id, commit=commit
    )


def _bump_revocations(session: Session) -> None:
    session.exec(
        update(RevocationCounter)
        .where(RevocationCounter.id == 1)
        .values(version=RevocationCounter.version + 1, changed_at=utcnow())
    )


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


def reissue_signed_by(*, session: Session, actor: Actor, kid: str, batch: int = 500) -> int:
    """After the key ``kid`` may have leaked: every active card it signed is replaced by one signed
    with the active key (serial + 1, the old card revoked at once), ``batch`` per transaction, so an
    interrupted run continues where it stopped. Returns how many were replaced. The new cards are
    unprinted, so `lifeline print cards --pending` prints them."""
    if keystore().ensure_active().kid == b64url_decode(kid):
        raise Invalid("この鍵は現在の署名鍵です。先に鍵を交換してください（lifeline keys rotate）")
    replaced = 0
    while cards := session.exec(
        select(Card).where(Card.kid == kid, Card.status == CardStatus.active).limit(batch)
    ).all():
        _replace(session, actor, cards, RevokeReason.key_compromised)
        replaced += len(cards)
    return replaced


def _replace(session: Session, actor: Actor, cards: Sequence[Card], reason: RevokeReason) -> None:
    """Replace each active card by a new one signed with the active key (serial + 1), the old one superseded; commit."""
    holders = {p.id: p for p in session.exec(select(Person).where(Person.id.in_([c.person_id for c in cards])))}
    for old in cards:
        # The old card was valid, so its holder still may have one: no eligibility check again.
        _end(session, actor, old, CardStatus.superseded, reason)
        _issue(session, actor, holders[old.person_id], card_id=bytes.fromhex(old.card_id), serial=old.serial + 1)
    session.commit()


def _high_s(qr_text: str) -> bool:
    """Whether the stored credential's signature is high-s (written before the low-s rule, now refused as forged)."""
    try:
        cose = cose_from_qr(qr_text)
    except MalformedCredential:
        return False  # the issuer never stores such text, and a new signature encoding would not mend it
    # A card's COSE_Sign1 ends with its 64-byte signature (the last item, canonical encoding), so the
    # CBOR need not be decoded: about 3 µs a card instead of 20, which keeps the check at every start cheap.
    return is_high_s(cose[-SIGNATURE_LENGTH:])


def active_high_s(*, session: Session) -> int:
    """How many active cards have a high-s signature: one pass over the active cards' QR texts."""
    texts = session.exec(select(Card.qr_text).where(Card.status == CardStatus.active).execution_options(yield_per=1000))
    return sum(1 for text in texts if _high_s(text))


def high_s_batches(*, session: Session, batch: int = 500) -> Iterator[list[Card]]:
    """The active cards with a high-s signature, found among ``batch`` active cards at a time in id order.

    Each lot is read only after the caller is done with the one before, so the caller may replace
    them and commit in between. Cards issued meanwhile are low-s and are not looked at.
    """
    last = session.exec(select(func.max(Card.id))).one() or 0
    after = 0
    while rows := session.exec(
        select(Card)
        .where(Card.status == CardStatus.active, Card.id > after, Card.id <= last)
        .order_by(Card.id)
        .limit(batch)
    ).all():
        after = rows[-1].id
        if found := [card for card in rows if _high_s(card.qr_text)]:
            yield found


def reissue_high_s(*, session: Session, actor: Actor, batch: int = 500) -> int:
    """After the upgrade to the low-s rule: replace every active card whose stored signature is high-s.

    Before the rule the issuer kept whichever of the two encodings of a signature OpenSSL returned,
    the high-s one about half the time, and every verifier now refuses those cards as forged. Each
    is replaced by a card signed low-s with the active key (serial + 1), the old one superseded at
    once with the reason ``other`` (neither the card nor its key is at fault, only the encoding).
    ``batch`` active cards are checked per transaction, so an interrupted run continues where it
    stopped. Returns how many were replaced; the new cards wait for `lifeline print cards --pending`.
    """
    replaced = 0
    for cards in high_s_batches(session=session, batch=batch):
        _replace(session, actor, cards, RevokeReason.other)
        replaced += len(cards)
    return replaced


def high_s_notice(count: int) -> str:
    """What the operator is told while active cards with a high-s signature remain (start-up log, `keys list`)."""
    return (
        f"{count} active cards have a high-s signature (signed before the low-s rule) and now scan as forged: "
        "replace them with `lifeline keys reissue-cards --high-s`, then print the new ones with "
        "`lifeline print cards --pending` (docs/operations.md, section 7)"
    )


def active_signed_by(*, session: Session, kid: str) -> int:
    """How many active cards the key ``kid`` signed."""
    return session.exec(
        select(func.count()).select_from(Card).where(Card.kid == kid, Card.status == CardStatus.active)
    ).one()


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


def _entry_of(newest: Card) -> RevocationEntry | None:
    """The revocation entry implied by a card id's newest serial: all of it if cancelled, else the serials before it."""
    if newest.status == CardStatus.active and newest.serial > 1:
        return RevocationEntry(
            card_id=bytes.fromhex(newest.card_id),
            serial=newest.serial - 1,
            reason="superseded",
            superseded_by_serial=newest.serial,
        )
    if newest.status != CardStatus.active:
        return RevocationEntry(card_id=bytes.fromhex(newest.card_id), serial=newest.serial, reason="cancelled")
    return None


def revocation_entries(*, session: Session) -> list[RevocationEntry]:
    """One entry per card id: everything up to the newest serial if cancelled, else up to the one before it."""
    latest = select(Card.card_id, func.max(Card.serial).label("serial")).group_by(Card.card_id).subquery()
    rows = session.exec(
        select(Card).join(latest, (Card.card_id == latest.c.card_id) & (Card.serial == latest.c.serial))
    ).all()
    return [entry for card in rows if (entry := _entry_of(card)) is not None]


def revocation_version(*, session: Session) -> int:
    return session.exec(select(RevocationCounter.version).where(RevocationCounter.id == 1)).one()


def revocation_list(*, session: Session) -> RevocationList:
    """The current revocation list for server-side verification (no signature needed here)."""
    entries = revocation_entries(session=session)
    return RevocationList(
        version=revocation_version(session=session),
        issued_at=int(time.time()),
        kid=b"",
        entries={e.card_id: e for e in entries},
    )


class CardRevocations:
    """The live revocation list as the server's verifier needs it: looked up for one card id at a time.

    ``credential.verify`` asks ``entry_for`` only after the signature checked out, so a scan reads
    the newest row of that one card id (an index lookup) instead of building the whole list, a
    GROUP BY over every card ever issued. The verdict is the same, since each card id's entry
    depends only on its own rows (``_entry_of``).
    """

    def __init__(self, session: Session):
        self._session = session
        self._newest: dict[bytes, Card | None] = {}

    def _newest_of(self, card_id: bytes) -> Card | None:
        if card_id not in self._newest:
            self._newest[card_id] = self._session.exec(
                select(Card).where(Card.card_id == card_id.hex()).order_by(Card.serial.desc()).limit(1)
            ).first()
        return self._newest[card_id]

    def entry_for(self, *, card_id: bytes, serial: int) -> RevocationEntry | None:
        """The entry revoking this card and serial, if any (same contract as RevocationList.entry_for)."""
        newest = self._newest_of(card_id)
        entry = _entry_of(newest) if newest is not None else None
        return entry if entry is not None and serial <= entry.serial else None

    def card(self, *, card_id: bytes, serial: int) -> Card | None:
        """The card row of this credential; usually the row ``entry_for`` already read."""
        newest = self._newest_of(card_id)
        if newest is not None and newest.serial == serial:
            return newest
        return find(session=self._session, card_id=card_id, serial=serial)


def revocations(*, session: Session) -> CardRevocations:
    """What the server verifies scans and card links against: the database, per card."""
    return CardRevocations(session)


_signed_cache: dict[tuple[int, str], dict] = {}


def revocation_document(*, session: Session) -> dict:
    """The signed list served to offline verifiers; re-signed only when the version or signing key changes."""
    store = keystore()
    store.ensure_active()
    key = (revocation_version(session=session), store.active().kid.hex())
    if key not in _signed_cache:
        _signed_cache.clear()
        _signed_cache[key] = build_revocation_document(
            entries=revocation_entries(session=session), version=key[0], keystore=store
        )
    return _signed_cache[key]
