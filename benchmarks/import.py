"""Import N fictional registry rows (default 5,000, CP932, 和暦 dates) and report rows per second.

    .venv/bin/python benchmarks/import.py [--rows 5000]

A fresh SQLite data directory is used. The file is imported twice, as a clerk re-running the
same export would: the first run creates every household and person, the second finds every
row unchanged. Both runs are timed (wall clock and CPU time of this process).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="lifeline-bench-import-"))
    os.environ.update(LIFELINE_DATA_DIR=str(data_dir), LIFELINE_DATABASE_URL="", LIFELINE_ENVIRONMENT="development")
    sys.path.insert(0, str(ROOT))

    from app import bootstrap
    from app.core.db import get_engine
    from app.imports import service
    from tests.imports.conftest import IMPORT_ACTOR, to_csv
    from tests.imports.test_import_service import registry_rows

    bootstrap.prepare_database()
    engine = get_engine()
    rows, _ = registry_rows(args.rows)
    data = to_csv(rows, encoding="cp932")
    print(f"import of {args.rows:,} CP932 rows ({len(data) / 1024:.0f} KiB), SQLite in {data_dir}")
    for label in ("first run (creates)", "second run (unchanged)"):
        wall, cpu = time.perf_counter(), time.process_time()
        job = service.create_job(engine=engine, actor=IMPORT_ACTOR, filename="bench.csv", dry_run=False)
        job = service.run_import(engine=engine, job_id=job.id, data=data, actor=IMPORT_ACTOR)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"  {label:24} {job.status.value:6} {wall:6.2f} s wall, {cpu:6.2f} s CPU, {args.rows / wall:8,.0f} rows/s"
        )


if __name__ == "__main__":
    main()
