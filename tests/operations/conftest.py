"""Operations tests: a committed database of its own (SQLite file, or a fresh PostgreSQL database
when the suite runs on PostgreSQL) and its own data directory holding copies of the run's keys,
so the ``lifeline`` command and the test read the same ciphertext and checkpoints."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app import bootstrap
from app.audit import service as audit
from app.audit.signing import audit_keys
from app.audit.verify import verify_database
from app.core.config import ROOT_DIR
from app.core.crypto import field_keyring
from app.persons import dataset, flows
from app.persons.models import EmergencyContactCreate
from tests.committing_database import engine_for, scratch_database
from tests.factories import FACTORY_ACTOR, Factories

# Distinctive fictional text: if any of it shows up in raw bytes, something is stored in plaintext.
MEDICATION = "ワルファリンZQX錠3mg"
CONDITION = "架空症候群QJZ"
ALLERGY = "ペニシリンXKV"
INSURANCE_NUMBER = "87654321"  # 保険者番号 (8 digits)
INSURANCE_SYMBOL = "記号ZQW"
INSURANCE_NO = "番号4242QJ"
ACP = "延命処置ZZQ希望せず"
# Free text beside the dataset that staff and families fill with medical detail too.
HOUSEHOLD_NOTE = "透析QZK火木土のため不在"  # household.notes
CONTACT_NOTE = "認知症XQVの母を介護中"  # emergencycontact.note
WITHDRAWAL_REASON = "入院ZKQにつき撤回"  # consent.withdrawal_reason
SECRETS = (
    MEDICATION,
    CONDITION,
    ALLERGY,
    INSURANCE_NUMBER,
    INSURANCE_SYMBOL,
    INSURANCE_NO,
    ACP,
    HOUSEHOLD_NOTE,
    CONTACT_NOTE,
    WITHDRAWAL_REASON,
)
FAMILY_NAME = "試験家QJ"  # names stay plaintext by design (searchable): the positive control


@dataclass
class Installation:
    url: str
    data_dir: Path
    engine: object

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
        return (
            env
            | {
                "LIFELINE_DATA_DIR": str(self.data_dir),
                "LIFELINE_DATABASE_URL": self.url,
                "LIFELINE_ENVIRONMENT": "test",
            }
            | extra
        )

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        command = [str(Path(sys.executable).with_name("lifeline")), *args]
        return subprocess.run(command, env=self.env(**env), cwd=ROOT_DIR, capture_output=True, text=True, timeout=300)

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def wipe(self) -> None:
        """Lose the database entirely (the disk died): an empty file or an empty schema."""
        self.engine.dispose()
        if self.is_sqlite:
            path = Path(self.engine.url.database)
            for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                p.unlink(missing_ok=True)
        else:
            with self.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture
def installation(tmp_path, data_dir):
    """A migrated database with the run's field and audit keys copied into its own data directory."""
    field_keyring()  # make sure the run's ring exists before copying it
    audit_keys().signer()
    own = tmp_path / "data"
    shutil.copytree(data_dir / "keys", own / "keys", ignore=shutil.ignore_patterns("card"))
    with scratch_database(tmp_path) as url:
        engine = engine_for(url, own)
        bootstrap.prepare_database(engine)
        try:
            yield Installation(url=url, data_dir=own, engine=engine)
        finally:
            engine.dispose()


def seed(engine, *, persons: int = 3) -> dict:
    """A committed household and persons carrying the SECRETS (the last person's consent withdrawn),
    and audit records with a checkpoint."""
    with Session(engine) as session:
        make = Factories(session)
        household = make.household(notes=HOUSEHOLD_NOTE)
        ids = []
        for _ in range(persons):
            person = make.person(
                household,
                family_name=FAMILY_NAME,
                birth_date=date(1941, 5, 6),
                insurer_number=INSURANCE_NUMBER,
                insurance_symbol=INSURANCE_SYMBOL,
                insurance_number=INSURANCE_NO,
                acp_notes=ACP,
            )
            make.entry(person, kind="medication", text=MEDICATION)
            make.entry(person, kind="condition", text=CONDITION)
            make.entry(person, kind="allergy", text=ALLERGY)
            dataset.add_contact(
                session=session,
                actor=FACTORY_ACTOR,
                person_id=person.id,
                data=EmergencyContactCreate(
                    name="試験 花子", relation="長女", phone="090-0000-0001", note=CONTACT_NOTE
                ),
            )
            ids.append(person.id)
        make.consent(person)
        flows.withdraw_consent(session=session, actor=FACTORY_ACTOR, person_id=person.id, reason=WITHDRAWAL_REASON)
        household_id = household.id
    for person_id in ids:
        audit.append(
            engine=engine,
            action="person.view",
            actor_username="test-staff",
            actor_role="staff",
            person_id=person_id,
            household_id=household_id,
            fields="dataset",
            purpose="staff",
        )
    audit.checkpoint(engine=engine)
    audit.append(engine=engine, action="person.view", actor_username="test-staff", actor_role="staff", person_id=ids[0])
    return {"household_id": household_id, "person_ids": ids}


def verify(engine):
    return verify_database(engine, keys=audit_keys().public_keys())
