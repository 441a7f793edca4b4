"""Set-up on the network live server's own database (run with its environment); prints JSON. Not a test module."""

from __future__ import annotations

import json
import secrets
import sys

from sqlmodel import Session, select

import app.models  # noqa: F401  (every table, for foreign keys)
from app.auth import service as auth
from app.auth.models import Role, UserCreate
from app.cards import service as cards
from app.core import db
from app.core.models import Actor, Source
from app.devices import service as devices
from app.devices.models import DeviceCreate
from app.directory.models import Institution
from app.persons.models import Person

ACTOR = Actor(user_id=None, name="ネットワークテスト", source=Source.staff)
HOSPITAL = "済生会加須病院"


def setup(session: Session) -> dict:
    """An ER sign-in at the hospital, the demo card of DEMO-P001, a device enrollment code."""
    hospital = session.exec(select(Institution).where(Institution.name == HOSPITAL)).one()
    password = f"er-{secrets.token_urlsafe(16)}"  # the "-" makes it mixed whatever the random part
    username = f"er-{secrets.token_hex(3)}"
    auth.create_user(
        session=session,
        data=UserCreate(
            username=username,
            password=password,
            role=Role.doctor,
            display_name="救急外来 見本",
            organisation=HOSPITAL,
            institution_id=hospital.id,
        ),
    )
    person = session.exec(select(Person).where(Person.external_ref == "DEMO-P001")).one()
    card = cards.ensure_issued(session=session, actor=ACTOR, person_id=person.id)
    _, code = devices.create(
        session=session,
        actor=ACTOR,
        data=DeviceCreate(name="加須2号救急車 端末", organisation="埼玉東部消防組合 加須消防署"),
    )
    return {
        "hospital_id": hospital.id,
        "username": username,
        "password": password,
        "qr": card.qr_text,
        "code": code,
        "person_id": person.id,
        "person_name": person.full_name,
    }


def main(argv: list[str]) -> None:
    with Session(db.get_engine()) as session:
        print(json.dumps({"setup": setup}[argv[0]](session), ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
