"""Work that spans persons and cards: what ends a person's consent or presence ends their card, in one transaction.

Cards read persons (issuing needs consent), so persons never import cards; the routes of
every domain call these functions instead of the persons services alone.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from app.cards import service as cards
from app.cards.models import RevokeReason
from app.core.models import Actor
from app.persons import dataset
from app.persons import service as persons
from app.persons.models import Consent, Person, PersonStatus, PersonUpdate

CARD_ENDING_STATUS = {PersonStatus.moved: RevokeReason.moved, PersonStatus.deceased: RevokeReason.deceased}


def update_person(*, session: Session, actor: Actor, person_id: int, data: PersonUpdate, commit: bool = True) -> Person:
    """Change a person; a move or a death revokes their card in the same transaction."""
    was = persons.get(session=session, person_id=person_id).status
    person = persons.update(session=session, actor=actor, person_id=person_id, data=data, commit=False)
    if person.status != was and person.status in CARD_ENDING_STATUS:
        cards.revoke(
            session=session, actor=actor, person_id=person_id, reason=CARD_ENDING_STATUS[person.status], commit=False
        )
    if commit:
        persons.save(session=session, person=person)
    return person


def withdraw_consent(*, session: Session, actor: Actor, person_id: int, reason: str, on: date | None = None) -> Consent:
    """Withdraw the consent in force; the person's card is revoked in the same transaction."""
    consent = dataset.withdraw_consent(
        session=session, actor=actor, person_id=person_id, reason=reason, on=on, commit=False
    )
    cards.revoke(session=session, actor=actor, person_id=person_id, reason=RevokeReason.consent_withdrawn, commit=False)
    session.commit()
    return consent
