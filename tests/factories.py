"""Factories for tests: fictional households, persons and users with sensible defaults."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import pyotp
from sqlmodel import Session

from app.auth.models import SECOND_FACTOR_ROLES, Role, User
from app.core.clock import utcnow
from app.core.models import Actor, Source
from app.core.security import hash_password
from app.directory.models import Institution, Practitioner
from app.households import service as households
from app.households.models import Household, HouseholdCreate
from app.persons import dataset
from app.persons import service as persons
from app.persons.models import ClinicalEntryCreate, ConsentBase, Person, PersonCreate

TEST_PASSWORD = "correct horse battery staple 7"
# The authenticator of every test user of a role that must use one (a fixed, fictional secret).
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPTONELIFELINETEST"
FACTORY_ACTOR = Actor(user_id=None, name="テスト", source=Source.staff)
_counter = itertools.count(1)


@lru_cache
def _password_hash() -> str:
    # Argon2 is deliberately slow; hash the shared test password once per run.
    return hash_password(TEST_PASSWORD)


def next_totp_code(db: Session, user: User, secret: str = TEST_TOTP_SECRET) -> str:
    """A code the server will accept now for ``user``: the current step, or a later one not used yet.

    The server refuses a step used before and accepts one step of drift, so at most two sign-ins
    of one user fit in one 30-second step; a third waits for the next step.
    """
    db.refresh(user)
    totp = pyotp.TOTP(secret)
    while True:
        current = totp.timecode(time.time())
        step = max(current, (user.totp_last_step or 0) + 1)
        if step <= current + 1:
            return totp.generate_otp(step)
        time.sleep(1)


def web_sign_in(client, db: Session, user: User, password: str = TEST_PASSWORD):
    """Sign ``client`` in through /login like a person does, answering the code step if there is one."""
    client.get("/login")
    token = client.cookies.get("csrftoken", "")
    r = client.post(
        "/login", data={"username": user.username, "password": password, "csrftoken": token}, follow_redirects=False
    )
    if r.status_code == 303 and r.headers["location"] == "/login/code":
        r = client.post(
            "/login/code", data={"code": next_totp_code(db, user), "csrftoken": token}, follow_redirects=False
        )
    return r


@dataclass
class Personas:
    admin: User
    staff: User
    doctor: User
    other_doctor: User
    paramedic: User
    resident: User
    outsider: User  # a resident of another household
    household: Household
    patient: Person  # in ``household``, family doctor = ``doctor``
    other_person: Person  # in another household, not a patient of ``doctor``


class Factories:
    def __init__(self, db: Session):
        self.db = db

    def household(self, **kw) -> Household:
        n = next(_counter)
        data = {"address_line": f"見本町{n}-1", "postal_code": "347-0000", "phone": f"0480-00-{n % 10000:04d}"} | kw
        return households.create(session=self.db, actor=FACTORY_ACTOR, data=HouseholdCreate.model_validate(data))

    def person(self, household: Household | None = None, **kw) -> Person:
        household = household or self.household()
        data = {
            "family_name": "見本",
            "given_name": f"試験{next(_counter)}",
            "family_name_kana": "ミホン",
            "given_name_kana": "シケン",
            "birth_date": date(1940, 3, 2),
        } | kw
        return persons.create(
            session=self.db, actor=FACTORY_ACTOR, household_id=household.id, data=PersonCreate.model_validate(data)
        )

    def entry(self, person: Person, kind: str = "medication", text: str = "アムロジピン錠5mg", **kw):
        return dataset.add_entry(
            session=self.db,
            actor=FACTORY_ACTOR,
            person_id=person.id,
            data=ClinicalEntryCreate(kind=kind, text=text, **kw),
        )

    def consent(self, person: Person, on: date = date(2026, 4, 1)):
        return dataset.record_consent(
            session=self.db, actor=FACTORY_ACTOR, person_id=person.id, data=ConsentBase(consented_on=on)
        )

    def practitioner(self, **kw) -> Practitioner:
        institution = Institution(name=f"見本診療所{next(_counter)}", kind="clinic")
        self.db.add(institution)
        self.db.flush()
        practitioner = Practitioner(family_name="見本", given_name="医師", institution_id=institution.id, **kw)
        self.db.add(practitioner)
        self.db.commit()
        return practitioner

    def user(self, role: Role | str, *, totp: bool | None = None, **kw) -> User:
        """A user with the test password; roles that must use TOTP have it set up (TEST_TOTP_SECRET) unless ``totp``."""
        role = Role(role)
        if totp if totp is not None else role in SECOND_FACTOR_ROLES:
            kw |= {"totp_secret": TEST_TOTP_SECRET, "totp_confirmed_at": utcnow()}
        user = User(
            username=kw.pop("username", f"{role.value}-{next(_counter)}"),
            role=role,
            password_hash=_password_hash(),
            display_name=kw.pop("display_name", f"テスト{role.value}"),
            **kw,
        )
        self.db.add(user)
        self.db.commit()
        self.db.refresh(user)
        return user

    def personas(self) -> Personas:
        own_doctor, other_doctor = self.practitioner(), self.practitioner()
        household = self.household()
        patient = self.person(household, family_doctor_id=own_doctor.id)
        self.entry(patient)
        other_household = self.household()
        other_person = self.person(other_household, family_doctor_id=other_doctor.id)
        return Personas(
            admin=self.user(Role.admin),
            staff=self.user(Role.staff),
            doctor=self.user(Role.doctor, practitioner_id=own_doctor.id),
            other_doctor=self.user(Role.doctor, practitioner_id=other_doctor.id),
            paramedic=self.user(Role.paramedic, organisation="埼玉東部消防組合 加須消防署"),
            resident=self.user(Role.resident, household_id=household.id),
            outsider=self.user(Role.resident, household_id=other_household.id),
            household=household,
            patient=patient,
            other_person=other_person,
        )
