"""Fill a database with a whole region of fictional data, fast: the scale benchmarks' input.

    .venv/bin/python benchmarks/generate.py [--persons 200000] [--audit 2000000]
                                            [--database-url URL] [--data-dir DIR] [--seed 1]

About 200,000 persons in ~120,000 households of the nine 利根 municipalities (names from
benchmarks/fictional.py: obviously fictional), each with medications, conditions, allergies,
emergency contacts, consent, a family doctor (fictional practitioners of the seeded
institutions and of fictional clinics) and a signed card (some reissued or revoked); then an
audit log of ``--audit`` records continuing the existing hash chain, with signed checkpoints
where the writer would put them. Rows go in with bulk executemany (SQLite) or COPY
(PostgreSQL); every value still passes through its column type, so medical fields are
encrypted with the installation's field keys exactly as the service does. The database is
migrated first; generated rows are added after whatever is there. Never point this at a
production database: it refuses LIFELINE_ENVIRONMENT=production.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--audit", type=int, default=2_000_000, help="audit records to append")
    parser.add_argument(
        "--database-url", default=None, help="default: LIFELINE_DATABASE_URL (empty: SQLite in the data directory)"
    )
    parser.add_argument("--data-dir", default=None, help="default: LIFELINE_DATA_DIR (keys are created or used there)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    # Before the app reads its settings: the field and card keys live in the data directory.
    if args.database_url is not None:
        os.environ["LIFELINE_DATABASE_URL"] = args.database_url
    if args.data_dir is not None:
        os.environ["LIFELINE_DATA_DIR"] = args.data_dir

    from region import generate

    from app.core.config import get_settings
    from app.core.db import get_engine

    if get_settings().environment == "production":
        raise SystemExit("refusing to generate fictional data with LIFELINE_ENVIRONMENT=production")
    started = time.perf_counter()
    counts = generate(engine=get_engine(), persons=args.persons, audit_records=args.audit, seed=args.seed, log=print)
    print(
        f"generated in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{n:,} {name}" for name, n in counts.items())
    )


if __name__ == "__main__":
    main()
