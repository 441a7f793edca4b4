"""Fictional households to print, created through the services in the process's own data directory.

Run as ``python -m tests.crash.seed COUNT`` with the environment of the process under test, so
the medical fields are sealed with that data directory's keys.
"""

from __future__ import annotations

import sys
from datetime import date

from sqlmodel import Session

from app import bootstrap
from app.core import db
from app.households import service as households
from app.households.models import HouseholdCreate
from app.persons import dataset
from app.persons import service as persons
from app.persons.models import ClinicalEntryCreate, ConsentBase, PersonCreate
from tests.factories import FACTORY_ACTOR


def seed(count: int) -> None:
    """``count`` elderly-only households of one consenting member each, with a medication."""
    bootstrap.prepare_database()
    with Session(db.get_engine()) as session:
        for n in range(count):
            household = households.create(
                session=session,
                actor=FACTORY_ACTOR,
                commit=False,
                data=HouseholdCreate(address_line=f"見本町{n + 1}-1", postal_code="347-0000", external_ref=f"S{n:06d}"),
            )
            person = persons.create(
                session=session,
                actor=FACTORY_ACTOR,
                household_id=household.id,
                commit=False,
                data=PersonCreate(
                    family_name="見本",
                    given_name=f"試{n}",
                    family_name_kana="ミホン",
                    given_name_kana="タメシ",
                    birth_date=date(1940, 1 + n % 12, 1 + n % 28),
                    external_ref=f"P{n:07d}",
                ),
            )
            dataset.record_consent(
                session=session,
                actor=FACTORY_ACTOR,
                person_id=person.id,
                data=ConsentBase(consented_on=date(2026, 4, 1)),
                commit=False,
            )
            dataset.add_entry(
                session=session,
                actor=FACTORY_ACTOR,
                person_id=person.id,
                commit=False,
                data=ClinicalEntryCreate(kind="medication", text="アムロジピン錠5mg"),
            )
        session.commit()


if __name__ == "__main__":
    seed(int(sys.argv[1]))
