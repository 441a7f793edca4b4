"""Demo data: obviously fictional households of 加須市 for trying the system and for tests.

Names use 見本 (sample) / 試験 (test) / 架空 (fictional); phone numbers use the unassigned
0480-00 exchange; addresses are in a 見本町 that does not exist. Loading twice changes nothing.
Demo passwords are random, generated on first load into the data directory, never in the repo.

Two entries exist so that paths rare in real data can be tried: 試験 同意無子 (DEMO-P007) has a
card but no consent in force, as for a card printed before withdrawal ended cards (scanning
her asks for a reason: emergency access, APPI 27-1-2); ``demo-ed`` is an emergency-department
doctor of 済生会加須病院 who sees ambulances announced to it on /hospital/.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import date

from sqlmodel import Session, select

from app import bootstrap
from app.auth import service as auth
from app.auth.models import Role, UserCreate
from app.cards import service as cards
from app.core import db
from app.core.config import get_settings
from app.core.errors import Invalid
from app.core.models import Actor, Source
from app.devices import demo as demo_devices
from app.directory import service as directory
from app.directory.models import Institution, InstitutionCreate, Practitioner, PractitionerCreate
from app.households import service as households
from app.households.models import Household, HouseholdCreate
from app.persons import dataset
from app.persons import service as persons
from app.persons.models import ClinicalEntryCreate, ConsentBase, EmergencyContactCreate, Person, PersonCreate

DEMO_ACTOR = Actor(user_id=None, name="デモデータ", source=Source.staff)
FIRE_DEPARTMENT = "埼玉東部消防組合 加須消防署"

PRACTITIONERS = (
    {
        "ref": "family",
        "family_name": "見本",
        "given_name": "一郎",
        "kana": "ミホン イチロウ",
        "specialty": "内科",
        "phone": "0480-00-1001",
        "clinic": "見本内科クリニック（架空）",
    },
    {
        "ref": "diabetes",
        "family_name": "試験",
        "given_name": "糖子",
        "kana": "シケン トウコ",
        "specialty": "糖尿病内科",
        "phone": "0480-00-1002",
        "institution": "東埼玉総合病院",
    },
    {
        "ref": "cardio",
        "family_name": "架空",
        "given_name": "心平",
        "kana": "カクウ シンペイ",
        "specialty": "循環器内科",
        "phone": "0480-00-1003",
        "institution": "済生会加須病院",
    },
)

# Each household: address, members with their dataset. Dates are ISO; ages are relative to 2026.
HOUSEHOLDS = (
    {
        "ref": "DEMO-H001",
        "address_line": "見本町1-2-3",
        "postal_code": "347-0000",
        "phone": "0480-00-2001",
        "welfare_commissioner": "民生 委子（架空）",
        "members": [
            {
                "ref": "DEMO-P001",
                "family_name": "見本",
                "given_name": "太郎",
                "family_name_kana": "ミホン",
                "given_name_kana": "タロウ",
                "birth_date": "1940-03-02",
                "sex": "male",
                "blood_abo": "A",
                "blood_rh": "+",
                "dnar_status": "exists",
                "dnar_location": "冷蔵庫のキット内（封筒）",
                "acp_notes": "延命治療は望まない。本人・長女と話し合い済み（架空）",
                "family_doctor": "family",
                "second_doctor": "diabetes",
                "insurance_kind": "後期高齢者医療",
                "insurer_number": "39110000",
                "insurance_number": "00000001",
                "allergies": [("ペニシリン系抗菌薬（発疹）", "drug")],
                "medications": [
                    ("ワルファリン錠1mg 1日1回", {"is_anticoagulant": True}),
                    ("インスリン グラルギン 朝10単位", {"is_insulin": True}),
                    ("アムロジピン錠5mg 1日1回", {}),
                ],
                "conditions": [("2型糖尿病", "current"), ("心房細動", "current"), ("胃がん 手術（2010年）", "surgery")],
                "contacts": [
                    ("見本 花江", "ミホン ハナエ", "長女", "090-0000-0001"),
                    ("見本 次郎", "ミホン ジロウ", "長男", "090-0000-0002"),
                ],
            },
            {
                "ref": "DEMO-P002",
                "family_name": "見本",
                "given_name": "梅子",
                "family_name_kana": "ミホン",
                "given_name_kana": "ウメコ",
                "birth_date": "1943-11-20",
                "sex": "female",
                "family_doctor": "family",
                "medications": [("ドネペジル錠5mg 1日1回", {})],
                "conditions": [("アルツハイマー型認知症", "current"), ("骨粗しょう症", "current")],
                "contacts": [
                    ("見本 花江", "ミホン ハナエ", "長女", "090-0000-0001"),
                    ("見本 次郎", "ミホン ジロウ", "長男", "090-0000-0002"),
                ],
            },
        ],
    },
    {
        "ref": "DEMO-H002",
        "address_line": "見本町2-10",
        "postal_code": "347-0000",
        "phone": "0480-00-2002",
        "welfare_commissioner": "民生 委子（架空）",
        "members": [
            {
                "ref": "DEMO-P003",
                "family_name": "𠮷野",
                "given_name": "試子",
                "family_name_kana": "ヨシノ",
                "given_name_kana": "タメコ",
                "print_name": "吉野 試子",
                "birth_date": "1936-07-07",
                "sex": "female",
                "family_doctor": "cardio",
                "blood_abo": "O",
                "blood_rh": "+",
                "allergies": [("造影剤（ヨード）", "drug"), ("そば", "food")],
                "medications": [("アピキサバン錠2.5mg 1日2回", {"is_anticoagulant": True})],
                "conditions": [("ペースメーカー植込み（2019年）", "device"), ("高血圧症", "current")],
                "contacts": [
                    ("𠮷野 見子", "ヨシノ ミコ", "姪", "090-0000-0003"),
                    ("架空 介護事業所", "", "ケアマネジャー", "0480-00-3003"),
                ],
            },
        ],
    },
    {
        "ref": "DEMO-H003",
        "address_line": "架空台3-4-5",
        "building": "見本ハイツ101",
        "postal_code": "349-1100",
        "phone": "0480-00-2003",
        "kit_delivered_on": "2026-04-01",
        "members": [
            {
                "ref": "DEMO-P004",
                "family_name": "髙橋",
                "given_name": "架空",
                "family_name_kana": "タカハシ",
                "given_name_kana": "カクウ",
                "birth_date": "1950-01-15",
                "sex": "male",
                "family_doctor": "family",
                "conditions": [("慢性閉塞性肺疾患（在宅酸素）", "current")],
                "medications": [("在宅酸素 安静時1L/分", {})],
                "contacts": [
                    ("髙橋 見本", "タカハシ ミホン", "妻", "090-0000-0004"),
                    ("山﨑 試験", "ヤマサキ シケン", "弟", "090-0000-0005"),
                ],
            },
        ],
    },
    {
        "ref": "DEMO-H004",
        "address_line": "見本町4-4",
        "postal_code": "347-0000",
        "phone": "0480-00-2004",
        "members": [
            {
                "ref": "DEMO-P005",
                "family_name": "試験",
                "given_name": "一郎",
                "family_name_kana": "シケン",
                "given_name_kana": "イチロウ",
                "birth_date": "1952-05-05",
                "sex": "male",
                "family_doctor": "family",
                "contacts": [("試験 陽子", "シケン ヨウコ", "長女", "090-0000-0006")],
            },
            {
                "ref": "DEMO-P006",
                "family_name": "試験",
                "given_name": "若葉",
                "family_name_kana": "シケン",
                "given_name_kana": "ワカバ",
                "birth_date": "1985-09-09",
                "sex": "female",
            },
        ],
    },
)


# The demo's person without consent in force: her card stays active (see the module docstring).
NO_CONSENT = {
    "ref": "DEMO-H005",
    "address_line": "架空台5-5",
    "postal_code": "349-1100",
    "phone": "0480-00-2005",
    "members": [
        {
            "ref": "DEMO-P007",
            "family_name": "試験",
            "given_name": "同意無子",
            "family_name_kana": "シケン",
            "given_name_kana": "ドウイナシコ",
            "birth_date": "1938-02-14",
            "sex": "female",
            "family_doctor": "family",
            "medications": [("リバーロキサバン錠10mg 1日1回", {"is_anticoagulant": True})],
            "conditions": [("心房細動", "current")],
            "contacts": [("試験 次男", "シケン ジナン", "次男", "090-0000-0007")],
        }
    ],
}
ED_HOSPITAL = "済生会加須病院"
ED_ACCOUNT = "ed"  # demo-ed: an emergency-department doctor (role doctor, linked to the hospital)


def _credentials_path():
    return get_settings().resolved_data_dir / "demo-logins.json"


def _new_password() -> str:
    # 15 characters, always letters with digits and a symbol, so every role's password rules accept it.
    return f"{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"


def _save_passwords(words: dict[str, str]) -> None:
    path = _credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(words, fh)


def _passwords() -> dict[str, str]:
    """Random demo passwords, created once and kept (0600) in the data directory."""
    path = _credentials_path()
    if path.exists():
        return json.loads(path.read_text())
    words = {role.value: _new_password() for role in Role}
    _save_passwords(words)
    return words


def _password_for(passwords: dict[str, str], key: str) -> str:
    """The kept password of a demo account, created for an account added after the file was written."""
    if key not in passwords:
        passwords[key] = _new_password()
        _save_passwords(passwords)
    return passwords[key]


def _practitioners(session: Session) -> dict[str, int]:
    by_name = {i.name: i for i in session.exec(select(Institution))}
    ids = {}
    for spec in PRACTITIONERS:
        existing = session.exec(select(Practitioner).where(Practitioner.kana == spec["kana"])).first()
        if existing is None:
            if "clinic" in spec and spec["clinic"] not in by_name:
                by_name[spec["clinic"]] = directory.create_institution(
                    session=session,
                    data=InstitutionCreate(
                        name=spec["clinic"],
                        kana="ミホンナイカクリニック",
                        kind="clinic",
                        phone=spec["phone"],
                        role_note="デモ用の架空の診療所",
                    ),
                )
            institution = by_name[spec.get("clinic") or spec["institution"]]
            existing = directory.create_practitioner(
                session=session,
                data=PractitionerCreate(
                    family_name=spec["family_name"],
                    given_name=spec["given_name"],
                    kana=spec["kana"],
                    specialty=spec["specialty"],
                    phone=spec["phone"],
                    institution_id=institution.id,
                ),
            )
        ids[spec["ref"]] = existing.id
    return ids


def _member(session: Session, household_id: int, spec: dict, doctors: dict[str, int]) -> Person:
    fields = {k: v for k, v in spec.items() if k in PersonCreate.model_fields and k != "external_ref"}
    data = PersonCreate.model_validate(
        {
            **fields,
            "external_ref": spec["ref"],
            "last_confirmed_on": "2026-10-01",
            "family_doctor_id": doctors.get(spec.get("family_doctor")),
            "second_doctor_id": doctors.get(spec.get("second_doctor")),
        }
    )
    person = persons.create(session=session, actor=DEMO_ACTOR, household_id=household_id, data=data, commit=False)
    dataset.record_consent(
        session=session,
        actor=DEMO_ACTOR,
        person_id=person.id,
        data=ConsentBase(consented_on=date(2026, 4, 1), method="written"),
        commit=False,
    )
    for text, category in spec.get("allergies", []):
        dataset.add_entry(
            session=session,
            actor=DEMO_ACTOR,
            person_id=person.id,
            data=ClinicalEntryCreate(kind="allergy", category=category, text=text),
            commit=False,
        )
    for text, flags in spec.get("medications", []):
        dataset.add_entry(
            session=session,
            actor=DEMO_ACTOR,
            person_id=person.id,
            data=ClinicalEntryCreate(kind="medication", text=text, **flags),
            commit=False,
        )
    for text, category in spec.get("conditions", []):
        dataset.add_entry(
            session=session,
            actor=DEMO_ACTOR,
            person_id=person.id,
            data=ClinicalEntryCreate(kind="condition", category=category, text=text),
            commit=False,
        )
    for name, kana, relation, phone in spec.get("contacts", []):
        dataset.add_contact(
            session=session,
            actor=DEMO_ACTOR,
            person_id=person.id,
            data=EmergencyContactCreate(name=name, kana=kana, relation=relation, phone=phone),
            commit=False,
        )
    return person


def _users(
    session: Session, passwords: dict[str, str], doctors: dict[str, int], resident_household: int
) -> dict[str, tuple[str, str]]:
    specs = {
        Role.admin: {"display_name": "デモ管理者", "organisation": "加須市 健康医療部（デモ）"},
        Role.staff: {"display_name": "デモ職員 見本", "organisation": "加須市 健康医療部（デモ）"},
        Role.doctor: {
            "display_name": "見本 一郎 医師",
            "organisation": "見本内科クリニック（架空）",
            "practitioner_id": doctors["family"],
        },
        Role.paramedic: {"display_name": "デモ救急隊員", "organisation": FIRE_DEPARTMENT},
        Role.resident: {"display_name": "見本 花江（家族）", "household_id": resident_household},
    }
    logins = {}
    for role, extra in specs.items():
        username = f"demo-{role.value}"
        if auth.get_user(session=session, username=username) is None:
            try:
                auth.create_user(
                    session=session,
                    data=UserCreate(username=username, password=passwords[role.value], role=role, **extra),
                )
            except Invalid:  # kept from before the password rules (issue 9): a new one for the new account
                passwords[role.value] = _new_password()
                _save_passwords(passwords)
                auth.create_user(
                    session=session,
                    data=UserCreate(username=username, password=passwords[role.value], role=role, **extra),
                )
        logins[role.value] = (username, passwords[role.value])
    hospital = session.exec(select(Institution).where(Institution.name == ED_HOSPITAL)).one()
    username = f"demo-{ED_ACCOUNT}"
    if auth.get_user(session=session, username=username) is None:
        auth.create_user(
            session=session,
            data=UserCreate(
                username=username,
                password=_password_for(passwords, ED_ACCOUNT),
                role=Role.doctor,
                display_name="デモ救急外来 医師",
                organisation=f"{ED_HOSPITAL} 救急外来（デモ）",
                institution_id=hospital.id,
            ),
        )
    logins[ED_ACCOUNT] = (username, _password_for(passwords, ED_ACCOUNT))
    return logins


def _without_consent(session: Session, doctors: dict[str, int]) -> None:
    """試験 同意無子: registered with consent and a card, then her consent ends without the card ending."""
    if session.exec(select(Household).where(Household.external_ref == NO_CONSENT["ref"])).first():
        return
    fields = {k: v for k, v in NO_CONSENT.items() if k in HouseholdCreate.model_fields}
    household = households.create(
        session=session,
        actor=DEMO_ACTOR,
        data=HouseholdCreate.model_validate({**fields, "external_ref": NO_CONSENT["ref"]}),
        commit=False,
    )
    person = _member(session, household.id, NO_CONSENT["members"][0], doctors)
    cards.ensure_issued(session=session, actor=DEMO_ACTOR, person_id=person.id, commit=False)
    # Withdrawn on the day it was given, directly: the flow (app.persons.flows) would revoke the card.
    consent = dataset.current_consent(session=session, person_id=person.id)
    consent.withdrawn_on = consent.consented_on
    consent.withdrawn_by = DEMO_ACTOR.name
    consent.withdrawal_reason = "デモ：同意のない方の緊急閲覧を試すため（架空）"
    session.add(consent)
    session.commit()


def load() -> dict[str, tuple[str, str]]:
    """Create whatever demo data is missing; return {role: (username, password)}."""
    bootstrap.prepare_database()
    passwords = _passwords()
    with Session(db.get_engine()) as session:
        doctors = _practitioners(session)
        for spec in HOUSEHOLDS:
            if session.exec(select(Household).where(Household.external_ref == spec["ref"])).first():
                continue
            fields = {k: v for k, v in spec.items() if k in HouseholdCreate.model_fields}
            household = households.create(
                session=session,
                actor=DEMO_ACTOR,
                data=HouseholdCreate.model_validate({**fields, "external_ref": spec["ref"]}),
                commit=False,
            )
            for member in spec["members"]:
                _member(session, household.id, member, doctors)
            session.commit()
        _without_consent(session, doctors)
        first = session.exec(select(Household).where(Household.external_ref == HOUSEHOLDS[0]["ref"])).one()
        logins = _users(session, passwords, doctors, first.id)
        demo_devices.load(session=session, actor=DEMO_ACTOR, data_dir=get_settings().resolved_data_dir)
        return logins


def describe(logins: dict[str, tuple[str, str]], base_url: str) -> str:
    """The banner printed on start: where to go and how to sign in."""
    lines = [
        "",
        "Tone Lifeline demo (all data is fictional)",
        f"  staff UI:  {base_url}/login",
        f"  API docs:  {base_url}/docs",
        "  sign-ins (role: username / password):",
    ]
    lines += [f"    {role:<10} {user} / {password}" for role, (user, password) in logins.items()]
    lines.append(f"  (passwords are kept in {_credentials_path()})")
    lines.append(f"  demo-{ED_ACCOUNT} is an emergency-department doctor of {ED_HOSPITAL}: {base_url}/hospital/")
    lines.append("  試験 同意無子 (DEMO-P007) has a card but no consent in force: scanning it asks for a reason.")
    lines.append("  admin, staff and doctor set up two-factor sign-in at their first sign-in: have a phone with an")
    lines.append("  authenticator app (TOTP) ready to scan the QR code, or type the key shown under it.")
    lines += demo_devices.describe(base_url=base_url, data_dir=get_settings().resolved_data_dir)
    return "\n".join(lines)
