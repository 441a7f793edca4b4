"""``lifeline demo`` on a fresh data directory: the paths rare in real data can be tried."""

from __future__ import annotations

import json
import subprocess
import sys

from app.core.config import ROOT_DIR

CHECK = """
import json
from sqlmodel import Session, select
import app.models
from app.auth.models import User
from app.cards.models import Card, CardStatus
from app.core import db
from app.directory.models import Institution
from app.persons import dataset
from app.persons.models import Person
with Session(db.get_engine()) as s:
    person = s.exec(select(Person).where(Person.external_ref == "DEMO-P007")).one()
    ed = s.exec(select(User).where(User.username == "demo-ed")).one()
    print(json.dumps({
        "cards": [c.status for c in s.exec(select(Card).where(Card.person_id == person.id))],
        "consent": dataset.consent_in_force(session=s, person_id=person.id),
        "ed": [ed.role, s.get(Institution, ed.institution_id).name if ed.institution_id else None],
        "persons": len(s.exec(select(Person)).all()),
    }))
"""


def test_demo_has_a_person_without_consent_and_an_emergency_department_account(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LIFELINE_DATA_DIR": str(tmp_path), "LIFELINE_DATABASE_URL": ""}

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done

    first = run("-m", "app.cli", "demo")
    assert "demo-ed" in first.stdout and "DEMO-P007" in first.stdout
    state = json.loads(run("-c", CHECK).stdout)
    assert state["cards"] == ["active"] and state["consent"] is False
    assert state["ed"] == ["doctor", "済生会加須病院"]
    run("-m", "app.cli", "demo")  # loading again changes nothing
    assert json.loads(run("-c", CHECK).stdout) == state
    assert json.loads((tmp_path / "demo-logins.json").read_text())["ed"]
