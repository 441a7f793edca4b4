"""The generator behind benchmarks/generate.py: rows of a fictional region, inserted in bulk.

Ids of households, persons and practitioners are assigned here (after the highest existing
one) so children can point at them without a round trip; PostgreSQL's sequences are moved past
them at the end. Everything else takes its id from the database.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

import fictional as fx
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Connection, Engine

BATCH_HOUSEHOLDS = 5_000
AUDIT_BATCH = 20_000
UTC = UTC


def _insert(conn: Connection, table, rows: list[dict]) -> None:
    """Bulk insert; values go through each column's type (encryption, enums, time zones)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    names = list(rows[0])
    processors = [table.c[name].type._cached_bind_processor(conn.dialect) for name in names]
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([p(row[n]) if p else row[n] for n, p in zip(names, processors)])


def _next_id(conn: Connection, table) -> int:
    return (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1


def _practitioners(conn: Connection, rng: random.Random, persons: int) -> tuple[list[int], list[int]]:
    """Fictional doctors: some at the seeded hospitals, most at fictional clinics (one per ~1,000 persons)."""
    from app.directory.models import Institution, InstitutionKind, Practitioner

    hospitals = conn.execute(
        select(Institution.id, Institution.name).where(Institution.kind == InstitutionKind.hospital)
    ).all()
    diabetes_hospital = next(
        (i for i, name in hospitals if name == "東埼玉総合病院"), hospitals[0][0] if hospitals else None
    )
    now = datetime.now(UTC)
    first_clinic = _next_id(conn, Institution.__table__)
    clinics = max(3, persons // 1_000)
    _insert(
        conn,
        Institution.__table__,
        [
            {
                "id": first_clinic + n,
                "name": (
                    f"{fx.TOWNS[n % len(fx.TOWNS)]}{fx.SPECIALTIES[n % len(fx.SPECIALTIES)]}クリニック{n + 1}（架空）"
                ),
                "kana": "カクウクリニック",
                "kind": InstitutionKind.clinic,
                "beds": None,
                "role_note": "生成データの架空の診療所",
                "phone": f"0480-09-{n % 10000:04d}",
                "postal_code": "",
                "address": "",
                "active": True,
                "created_at": now,
            }
            for n in range(clinics)
        ],
    )
    pid = _next_id(conn, Practitioner.__table__)
    family, specialists, rows = [], [], []
    places = [(first_clinic + n, fx.SPECIALTIES[n % len(fx.SPECIALTIES)]) for n in range(clinics)]
    places += [(diabetes_hospital, "糖尿病内科")] * 6 + [(h, "循環器内科") for h, _ in hospitals]
    for institution_id, specialty in places:
        surname, kana = rng.choice(fx.SURNAMES)
        given, given_kana = rng.choice(fx.MALE_NAMES + fx.FEMALE_NAMES)
        rows.append(
            {
                "id": pid,
                "family_name": surname,
                "given_name": given,
                "kana": f"{kana} {given_kana}",
                "institution_id": institution_id,
                "specialty": specialty,
                "phone": f"0480-08-{pid % 10000:04d}",
                "active": True,
                "created_at": now,
            }
        )
        (specialists if (institution_id, specialty) == (diabetes_hospital, "糖尿病内科") else family).append(pid)
        pid += 1
    _insert(conn, Practitioner.__table__, rows)
    return family, specialists or family[:1]


class _Region:
    """Row factories for one run (one random stream, so a seed reproduces the data)."""

    def __init__(self, rng: random.Random, family: list[int], specialists: list[int]):
        from app.cards import service as cards
        from app.core.config import get_settings

        self.rng, self.family, self.specialists = rng, family, specialists
        store = cards.keystore()
        self.signer = cards._signer(store.directory, store.ensure_active().kid)
        self.base_url = get_settings().public_url
        self.now = datetime.now(UTC)
        self.weights = [m[3] for m in fx.MUNICIPALITIES]

    def household(self, hid: int) -> dict:
        rng = self.rng
        city, postal, area, _ = rng.choices(fx.MUNICIPALITIES, self.weights)[0]
        town = rng.choice(fx.TOWNS)
        address = f"{town}{rng.randint(1, 9)}-{rng.randint(1, 40)}-{rng.randint(1, 30)}"
        phone = f"{area}-0{hid // 10_000 % 10}-{hid % 10_000:04d}"
        return {
            "id": hid,
            "external_ref": f"GEN-H{hid:07d}",
            "postal_code": f"{postal}-00{rng.randint(0, 99):02d}",
            "prefecture": "埼玉県",
            "municipality": city,
            "address_line": address,
            "building": rng.choice(["", "", "", f"見本ハイツ{rng.randint(1, 3)}0{rng.randint(1, 8)}"]),
            "phone": phone,
            "phone_key": phone.replace("-", ""),
            "welfare_commissioner": f"民生 委員{hid % 500}（架空）",
            "welfare_commissioner_phone": f"0480-07-{hid % 500:04d}",
            "kit_delivered_on": date(2026, 4, 1) if rng.random() < 0.6 else None,
            "notes": "",
            "kit_printed_at": None,
            "version": 1,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def person(self, pid: int, household: dict, surname: tuple[str, str]) -> dict:
        from app.core.text import digits, kana_key, name_key
        from app.persons.models import BloodAbo, BloodRh, DnarStatus, PersonStatus, Sex

        rng = self.rng
        sex = rng.choice((Sex.male, Sex.female))
        given, given_kana = rng.choice(fx.MALE_NAMES if sex == Sex.male else fx.FEMALE_NAMES)
        phone = f"090-00{pid // 10_000 % 100:02d}-{pid % 10_000:04d}" if rng.random() < 0.4 else ""
        dnar = rng.choices((DnarStatus.unknown, DnarStatus.none, DnarStatus.exists), (6, 3, 1))[0]
        insured = rng.random() < 0.9
        return {
            "id": pid,
            "household_id": household["id"],
            "family_name": surname[0],
            "given_name": given,
            "family_name_kana": surname[1],
            "given_name_kana": given_kana,
            "print_name": "",
            "birth_date": date(1926, 1, 1) + timedelta(days=rng.randint(0, 365 * 35)),
            "sex": sex,
            "phone": phone,
            "status": PersonStatus.active,
            "external_ref": f"GEN-P{pid:07d}",
            "dnar_status": dnar,
            "dnar_location": "冷蔵庫のキット内（封筒）" if dnar == DnarStatus.exists else None,
            "acp_notes": "延命治療は望まない（架空）" if dnar == DnarStatus.exists else None,
            "family_doctor_id": rng.choice(self.family) if rng.random() < 0.85 else None,
            "second_doctor_id": rng.choice(self.specialists) if rng.random() < 0.1 else None,
            "blood_abo": rng.choice(list(BloodAbo)),
            "blood_rh": rng.choice((BloodRh.pos, BloodRh.pos, BloodRh.unknown)),
            "usual_state": rng.choice((None, "ADL自立", "杖歩行", "車椅子", "要介護2")),
            "infection_notes": None,
            "insurance_kind": rng.choice(fx.INSURANCE_KINDS) if insured else "",
            "insurer_number": f"3911{rng.randint(0, 9999):04d}" if insured else None,
            "insurance_symbol": None,
            "insurance_number": f"{rng.randint(0, 99_999_999):08d}" if insured else None,
            "insurance_branch": None,
            "last_confirmed_on": date(2026, 4, 1),
            "last_confirmed_source": "staff",
            "last_confirmed_by": "生成データ",
            "name_key": name_key(surname[0] + given),
            "kana_key": kana_key(surname[1] + given_kana),
            "phone_key": digits(phone),
            "version": 1,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def entries(self, person_id: int) -> list[dict]:
        from app.persons.models import ClinicalKind, ClinicalStatus

        rng, out = self.rng, []
        picks = [
            (ClinicalKind.medication, m[0], "regular", m[1], m[2])
            for m in rng.sample(fx.MEDICATIONS, rng.randint(0, 5))
        ]
        picks += [
            (ClinicalKind.condition, c[0], c[1], False, False) for c in rng.sample(fx.CONDITIONS, rng.randint(0, 3))
        ]
        picks += [
            (ClinicalKind.allergy, a[0], a[1], False, False)
            for a in rng.sample(fx.ALLERGIES, rng.choice((0, 0, 0, 1, 1, 2)))
        ]
        for kind, text_, category, anticoagulant, insulin in picks:
            out.append(
                {
                    "person_id": person_id,
                    "kind": kind,
                    "category": category,
                    "text": text_,
                    "code_system": "",
                    "code": None,
                    "is_anticoagulant": anticoagulant,
                    "is_insulin": insulin,
                    "note": None,
                    "status": ClinicalStatus.active,
                    "source": "staff",
                    "source_detail": "",
                    "last_confirmed_on": date(2026, 4, 1),
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
        return out

    def contacts(self, person: dict) -> list[dict]:
        rng = self.rng
        out = []
        for position in range(rng.choice((1, 2, 2))):
            given, given_kana = rng.choice(fx.MALE_NAMES + fx.FEMALE_NAMES)
            out.append(
                {
                    "person_id": person["id"],
                    "name": f"{person['family_name']} {given}",
                    "kana": f"{person['family_name_kana']} {given_kana}",
                    "relation": rng.choice(fx.RELATIONS),
                    "phone": f"080-00{position}{rng.randint(0, 9)}-{rng.randint(0, 9999):04d}",
                    "phone2": "",
                    "note": "",
                    "position": position,
                    "created_at": self.now,
                }
            )
        return out

    def consent(self, person_id: int) -> dict:
        return {
            "person_id": person_id,
            "consented_on": date(2026, 4, 1),
            "method": "written",
            "proxy_name": "",
            "scope": "emergency_sharing",
            "recorded_by": "生成データ",
            "withdrawn_on": None,
            "withdrawn_by": "",
            "withdrawal_reason": "",
            "created_at": self.now,
        }

    def cards(self, person_id: int) -> list[dict]:
        """Serial 1 active; 2 % reissued (serial 1 superseded, 2 active); 1 % cancelled."""
        from app.cards.credential import CardClaims, issue_credential, new_card_id
        from app.cards.keyset import b64url_encode
        from app.cards.models import CardStatus, RevokeReason

        card_id, roll = new_card_id(), self.rng.random()
        serials = [1, 2] if roll < 0.02 else [1]
        out = []
        for serial in serials:
            issued = issue_credential(
                claims=CardClaims(card_id=card_id, serial=serial, issued_at=int(self.now.timestamp())),
                signer=self.signer,
                base_url=self.base_url,
            )
            ended = serial < serials[-1] or roll > 0.99
            status = (
                CardStatus.superseded
                if serial < serials[-1]
                else CardStatus.revoked
                if roll > 0.99
                else CardStatus.active
            )
            out.append(
                {
                    "person_id": person_id,
                    "card_id": card_id.hex(),
                    "serial": serial,
                    "status": status,
                    "issued_at": self.now,
                    "issued_by": "生成データ",
                    "kid": b64url_encode(self.signer.kid),
                    "qr_text": issued.text,
                    "revoked_at": self.now if ended else None,
                    "revoked_by": "生成データ" if ended else "",
                    "revoke_reason": (RevokeReason.lost if status == CardStatus.superseded else RevokeReason.moved)
                    if ended
                    else None,
                    "printed_at": self.now,
                }
            )
        return out


def _members(rng: random.Random) -> int:
    # 40 % living alone, 53 % couples, 7 % three: 1.67 persons per household on average.
    return rng.choices((1, 2, 3), (40, 53, 7))[0]


def generate_persons(engine: Engine, *, persons: int, rng: random.Random, log) -> dict[str, int]:
    from app.cards.models import Card, RevocationCounter
    from app.households.models import Household
    from app.persons.models import ClinicalEntry, Consent, EmergencyContact, Person

    counts = dict.fromkeys(("households", "persons", "clinical entries", "contacts", "cards"), 0)
    with engine.begin() as conn:
        family, specialists = _practitioners(conn, rng, persons)
        region = _Region(rng, family, specialists)
        hid, pid = _next_id(conn, Household.__table__), _next_id(conn, Person.__table__)
    made, started = 0, time.perf_counter()
    while made < persons:
        rows: dict = {t: [] for t in (Household, Person, ClinicalEntry, EmergencyContact, Consent, Card)}
        for _ in range(BATCH_HOUSEHOLDS):
            if made >= persons:
                break
            household = region.household(hid)
            rows[Household].append(household)
            surname = rng.choice(fx.SURNAMES)
            for _ in range(min(_members(rng), persons - made)):
                person = region.person(pid, household, surname)
                rows[Person].append(person)
                rows[ClinicalEntry] += region.entries(pid)
                rows[EmergencyContact] += region.contacts(person)
                if rng.random() < 0.96:  # the rest have no consent on record: scans are emergency accesses
                    rows[Consent].append(region.consent(pid))
                    rows[Card] += region.cards(pid)
                pid += 1
                made += 1
            hid += 1
        with engine.begin() as conn:
            for table, batch in rows.items():
                _insert(conn, table.__table__, batch)
        for name, table in (
            ("households", Household),
            ("persons", Person),
            ("clinical entries", ClinicalEntry),
            ("contacts", EmergencyContact),
            ("cards", Card),
        ):
            counts[name] += len(rows[table])
        log(f"  {made:,} persons ({made / (time.perf_counter() - started):,.0f}/s)", flush=True)
    with engine.begin() as conn:
        conn.execute(
            update(RevocationCounter).where(RevocationCounter.id == 1).values(version=RevocationCounter.version + 1)
        )
    return counts


def generate(*, engine: Engine, persons: int, audit_records: int, seed: int = 1, log=print) -> dict[str, int]:
    """Migrate, then add ``persons`` fictional persons and ``audit_records`` chained audit records."""
    from audit_chain import generate_audit

    from app import bootstrap

    bootstrap.prepare_database(engine)
    rng = random.Random(seed)
    counts = generate_persons(engine, persons=persons, rng=rng, log=log) if persons else {}
    if audit_records:
        counts["audit records"] = generate_audit(engine, records=audit_records, rng=rng, log=log)
    _move_sequences(engine)
    # Planner statistics now, as autovacuum would within minutes: straight after COPY PostgreSQL
    # had none and planned the phone-suffix search as a nested loop (p95 0.9 s instead of 90 ms).
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return counts


def _move_sequences(engine: Engine) -> None:
    """PostgreSQL: the serial sequences continue after the ids assigned here."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in ("household", "person", "practitioner", "institution", "auditevent"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
                )
            )
