"""Operations on the live server's own database and key store, for the browser tests and the benchmark.

Run as ``python -m tests.ems.live_ops COMMAND …`` with the live server's environment (its
``LIFELINE_*`` variables), so that cards are signed with the live server's key and devices land in
its database. Prints JSON. Not a test module.
"""

from __future__ import annotations

import json
import sys

from sqlmodel import Session, select

import app.models  # noqa: F401  (every table, for foreign keys)
from app.audit.models import AuditEvent
from app.auth import accounts
from app.auth.models import Role
from app.cards import service as cards
from app.cards.models import RevokeReason
from app.core import db
from app.core.models import Actor, Source
from app.devices import service as devices
from app.devices.models import DeviceCreate
from app.persons.models import Person

ACTOR = Actor(user_id=None, name="ブラウザテスト", source=Source.staff)
FIRE_DEPARTMENT = "埼玉東部消防組合 加須消防署"


def _person(session: Session, ref: str) -> Person:
    return session.exec(select(Person).where(Person.external_ref == ref)).one()


def _card(card, session: Session) -> dict:
    person = session.get(Person, card.person_id)
    return {
        "qr_text": card.qr_text,
        "card_number": card.card_number,
        "card_id": card.card_id,
        "serial": card.serial,
        "household_id": person.household_id,
    }


def issue_card(session: Session, ref: str) -> dict:
    """The person's active card (issued if none)."""
    return _card(cards.ensure_issued(session=session, actor=ACTOR, person_id=_person(session, ref).id), session)


def reissue(session: Session, ref: str) -> dict:
    """Replace the person's card as lost: the previous card is revoked (a newer card exists)."""
    person = _person(session, ref)
    old = cards.ensure_issued(session=session, actor=ACTOR, person_id=person.id)
    old_card = _card(old, session)
    new = cards.reissue(session=session, actor=ACTOR, person_id=person.id, reason=RevokeReason.lost)
    return {"old": old_card, "new": _card(new, session)}


def device_code(session: Session, name: str) -> dict:
    device, code = devices.create(
        session=session, actor=ACTOR, data=DeviceCreate(name=name, organisation=FIRE_DEPARTMENT)
    )
    return {"device_id": device.id, "code": code}


def disable(session: Session, device_id: str) -> dict:
    device = devices.disable(session=session, actor=ACTOR, device_id=int(device_id))
    return {"device_id": device.id, "disabled_at": device.disabled_at.isoformat()}


def new_crew_account(session: Session, username: str) -> dict:
    """A crew member's account as an administrator makes it: with an initial password to replace."""
    user, password = accounts.create(
        session=session,
        data=accounts.AccountCreate(
            role=Role.paramedic, username=username, display_name="試験 救急隊員", organisation=FIRE_DEPARTMENT
        ),
    )
    return {"username": user.username, "password": password}


def audit(session: Session, action: str) -> list[dict]:
    events = session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)).all()
    return [e.model_dump(mode="json", exclude={"hash", "prev_hash"}) for e in events]


COMMANDS = {
    "issue-card": issue_card,
    "reissue": reissue,
    "device-code": device_code,
    "disable": disable,
    "audit": audit,
    "new-crew-account": new_crew_account,
}


def main(argv: list[str]) -> None:
    command, *args = argv
    with Session(db.get_engine()) as session:
        print(json.dumps(COMMANDS[command](session, *args), ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
