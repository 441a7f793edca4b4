"""Which printed cards are out of date: a printed field changed after the card was printed.

The QR holds no medical data, so medication or allergy changes never need a new card. The
card shows the name (and its print spelling and kana), the date of birth, the family and
second doctor on the front and the first two emergency contacts on the back; a change to any
of these after ``card.printed_at`` puts the person in the staff's reprint queue. Printing the
card again (same credential, new ``printed_at``) takes them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, select

from app.cards.models import Card, CardStatus
from app.history.models import Change
from app.persons.models import Person

PRINTED_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "print_name",
    "birth_date",
    "family_doctor_id",
    "second_doctor_id",
)


@dataclass
class Stale:
    person: Person
    card: Card
    fields: list[str] = field(default_factory=list)  # field names (label vocabulary "field")
    last_change: datetime | None = None
    by_resident: bool = False


def stale_cards(*, session: Session, limit: int = 500) -> list[Stale]:
    """Persons whose active, printed card shows something that has changed since, newest change first."""
    printed_field = or_((Change.entity == "person") & Change.field.in_(PRINTED_FIELDS), Change.entity == "contact")
    rows = session.exec(
        select(Change, Card, Person)
        .join(Card, (Card.person_id == Change.person_id) & (Card.status == CardStatus.active))
        .join(Person, Person.id == Change.person_id)
        .where(Card.printed_at.is_not(None), Change.at > Card.printed_at, printed_field)
        .order_by(Change.at.desc())
    ).all()
    out: dict[int, Stale] = {}
    for change, card, person in rows:
        item = out.setdefault(person.id, Stale(person=person, card=card, last_change=change.at))
        name = change.field if change.entity == "person" else "contact"
        if name not in item.fields:
            item.fields.append(name)
        item.by_resident = item.by_resident or change.source == "resident"
    return list(out.values())[:limit]
