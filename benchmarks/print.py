"""Print the kits of N fictional households (default 1,000) and report sheets per second and peak RSS.

    .venv/bin/python benchmarks/print.py [--households 1000] [--data-dir DIR]

A temporary SQLite data directory is filled with households of one or two elderly members
(medications, conditions, contacts, consent), then ``lifeline print kits --all`` runs twice in
a fresh process each: the first run also issues every card (one ECDSA signature and one
commit each), the second is a plain reprint. Each run reports pages (paper sheets) and
information sheets per second of CPU time (one process, one core), the time per household,
and the peak resident memory of that process, which must stay flat whatever N is.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEDICATIONS = [
    "アムロジピン錠5mg 1日1回",
    "ワルファリン錠1mg 1日1回",
    "メトホルミン錠250mg 1日2回",
    "ランソプラゾールOD錠15mg",
    "インスリン グラルギン 朝10単位",
    "ドネペジル錠5mg 1日1回",
    "アトルバスタチン錠10mg",
    "酸化マグネシウム錠330mg 頓用",
]
CONDITIONS = [
    "高血圧症",
    "2型糖尿病",
    "心房細動",
    "骨粗しょう症",
    "慢性腎臓病",
    "脳梗塞（2018年）",
    "白内障 手術（2015年）",
]
FAMILY = ["見本", "試験", "架空", "例示", "仮名"]
GIVEN = ["太郎", "花子", "一郎", "梅子", "次郎", "松子", "三郎", "竹子"]


def generate(households: int) -> None:
    """Fill the database with fictional households (deterministic)."""
    from sqlmodel import Session

    from app import bootstrap
    from app.core import db
    from app.core.models import Actor, Source
    from app.directory import service as directory
    from app.directory.models import InstitutionCreate, PractitionerCreate
    from app.households import service as households_service
    from app.households.models import HouseholdCreate
    from app.persons import dataset
    from app.persons import service as persons
    from app.persons.models import ClinicalEntryCreate, ConsentBase, EmergencyContactCreate, PersonCreate

    bootstrap.prepare_database()
    actor = Actor(user_id=None, name="ベンチマーク", source=Source.staff)
    rng = random.Random(7)
    with Session(db.get_engine()) as session:
        clinic = directory.create_institution(
            session=session,
            data=InstitutionCreate(name="見本内科クリニック（架空）", kind="clinic", phone="0480-00-1001"),
        )
        doctor = directory.create_practitioner(
            session=session,
            data=PractitionerCreate(
                family_name="見本", given_name="一郎", specialty="内科", phone="0480-00-1001", institution_id=clinic.id
            ),
        )
        for n in range(households):
            household = households_service.create(
                session=session,
                actor=actor,
                commit=False,
                data=HouseholdCreate(
                    address_line=f"見本町{n // 100 + 1}-{n % 100 + 1}",
                    postal_code="347-0000",
                    phone=f"0480-00-{n % 10000:04d}",
                ),
            )
            for _member in range(rng.choice((1, 2, 2))):
                person = persons.create(
                    session=session,
                    actor=actor,
                    household_id=household.id,
                    commit=False,
                    data=PersonCreate(
                        family_name=FAMILY[n % len(FAMILY)],
                        given_name=rng.choice(GIVEN),
                        family_name_kana="ミホン",
                        given_name_kana="タロウ",
                        birth_date=date(1935 + rng.randrange(20), rng.randrange(1, 13), rng.randrange(1, 28)),
                        family_doctor_id=doctor.id,
                        blood_abo=rng.choice("ABO"),
                        dnar_status=rng.choice(("unknown", "none", "exists")),
                    ),
                )
                dataset.record_consent(
                    session=session,
                    actor=actor,
                    person_id=person.id,
                    data=ConsentBase(consented_on=date(2026, 4, 1)),
                    commit=False,
                )
                for text in rng.sample(MEDICATIONS, rng.randrange(1, 6)):
                    dataset.add_entry(
                        session=session,
                        actor=actor,
                        person_id=person.id,
                        commit=False,
                        data=ClinicalEntryCreate(
                            kind="medication",
                            text=text,
                            is_anticoagulant="ワルファリン" in text,
                            is_insulin="インスリン" in text,
                        ),
                    )
                for text in rng.sample(CONDITIONS, rng.randrange(1, 4)):
                    dataset.add_entry(
                        session=session,
                        actor=actor,
                        person_id=person.id,
                        commit=False,
                        data=ClinicalEntryCreate(kind="condition", text=text),
                    )
                for k in range(2):
                    dataset.add_contact(
                        session=session,
                        actor=actor,
                        person_id=person.id,
                        commit=False,
                        data=EmergencyContactCreate(
                            name=f"{FAMILY[n % len(FAMILY)]} {rng.choice(GIVEN)}",
                            relation=("長女", "長男")[k],
                            phone=f"090-{n % 10000:04d}-{k:04d}",
                        ),
                    )
            if n % 200 == 199:
                session.commit()
        session.commit()


def print_all(out: Path) -> dict:
    """One ``print kits --all`` run, measured in this (fresh) process."""
    from sqlmodel import Session

    from app import bootstrap
    from app.core import db
    from app.printing import service as printing

    bootstrap.prepare_database()
    engine = db.get_engine()
    with Session(engine) as session:
        ids = printing.household_ids(session=session)
    start, cpu = time.perf_counter(), time.process_time()
    summary = printing.run(
        kind="kits", engine=engine, actor=printing.CLI_ACTOR, audit=printing.cli_audit(engine=engine), out=out, ids=ids
    )
    return {
        "households": summary.households,
        "sheets": summary.sheets,
        "pages": summary.pages,
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "bytes": out.stat().st_size,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse or keep this data directory")
    parser.add_argument("--print-into", type=Path, help=argparse.SUPPRESS)  # internal: one measured run
    args = parser.parse_args()
    if args.print_into:
        print(json.dumps(print_all(args.print_into)))
        return
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="lifeline-print-bench-"))
    env = {
        **os.environ,
        "LIFELINE_DATA_DIR": str(data_dir),
        "LIFELINE_DATABASE_URL": "",
        "LIFELINE_ENVIRONMENT": "development",
        "LIFELINE_PUBLIC_URL": "https://lifeline.city.kazo.saitama.jp",
    }
    if not (data_dir / "lifeline.sqlite3").exists():
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.argv=['x']; "
                f"from benchmarks.print import generate; generate({args.households})",
            ],
            cwd=ROOT,
            env=env,
            check=True,
        )
        print(f"generated {args.households} households in {time.perf_counter() - started:.1f} s ({data_dir})")
    for label in ("first print (issues every card)", "reprint"):
        out = data_dir / "kits.pdf"
        result = subprocess.run(
            [sys.executable, str(Path(__file__)), "--print-into", str(out)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(result.stdout.strip().splitlines()[-1])
        print(
            f"{label}: {r['households']} households, {r['sheets']} information sheets, {r['pages']} pages, "
            f"{r['bytes'] / 1e6:.1f} MB; {r['seconds']:.2f} s wall, {r['cpu']:.2f} s CPU"
        )
        # Per core: rates from the CPU time of the one process (a busy machine inflates wall time).
        print(
            f"  per core: {r['pages'] / r['cpu']:.0f} pages/s, {r['sheets'] / r['cpu']:.0f} information sheets/s, "
            f"{1000 * r['cpu'] / r['households']:.1f} ms per household; peak RSS {r['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
