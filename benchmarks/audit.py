"""Audit log figures: appends/s with concurrent writers, and `audit verify` over a million records.

    .venv/bin/python benchmarks/audit.py [--records 1000000] [--writers 1,4,8] [--seconds 5]
                                         [--postgres postgresql://postgres@127.0.0.1:5432/test]

Writers are threads of one process (as in one uvicorn worker) and separate processes (as with
several workers), each appending through the real writer (app.audit.service.append: head row
lock, hash, commit). The million records are then
generated in bulk with the real canonical encoding and signed checkpoints every 1,000, and
verified in-process and by the `lifeline audit verify` command. With --postgres, a scratch
database ``<name>_auditbench`` is created next to the given one and dropped afterwards.
Target: >= 200,000 records/s verified.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

TARGET_PER_SECOND = 200_000
DATA_DIR = Path(tempfile.mkdtemp(prefix="lifeline-auditbench-"))
os.environ["LIFELINE_DATA_DIR"] = str(DATA_DIR)
os.environ.setdefault("LIFELINE_ENVIRONMENT", "development")


def _engine(url: str):
    from app.core.config import Settings
    from app.core.db import make_engine

    return make_engine(Settings(data_dir=DATA_DIR, database_url=url))


def _writer(url: str, seconds: float, start: float, out) -> None:
    from app.audit import service as audit

    engine = _engine(url)
    while time.time() < start:
        time.sleep(0.001)
    count, deadline = 0, start + seconds
    while time.time() < deadline:
        audit.append(
            engine=engine,
            action="scan.view",
            actor_username="bench-crew",
            actor_role="paramedic",
            organisation="埼玉東部消防組合 加須消防署",
            device="加須1号救急車 端末",
            person_id=count % 5000 + 1,
            household_id=1,
            fields="emergency_summary",
            purpose="意識障害",
            incident="R8-000001",
        )
        count += 1
    out.put(count)
    engine.dispose()


def append_rate(url: str, writers: int, seconds: float, *, processes: bool) -> float:
    """Records/s appended by ``writers`` processes (like uvicorn workers) or threads of one process."""
    if processes:
        queue, start = multiprocessing.Queue(), time.time() + 1.5  # all connected before the clock starts
        workers = [multiprocessing.Process(target=_writer, args=(url, seconds, start, queue)) for _ in range(writers)]
    else:
        import queue as queues

        queue, start = queues.Queue(), time.time() + 0.5
        workers = [threading.Thread(target=_writer, args=(url, seconds, start, queue)) for _ in range(writers)]
    for w in workers:
        w.start()
    total = sum(queue.get() for _ in workers)
    for w in workers:
        w.join()
    return total / seconds


def generate(engine, records: int, every: int = 1000) -> None:
    """Append ``records`` chained records in bulk (the real encoding), checkpoints every ``every``."""
    from sqlalchemy import insert, update

    from app.audit import chain
    from app.audit.models import AuditCheckpoint, AuditEvent, AuditHead
    from app.audit.signing import audit_keys

    keys = audit_keys()
    kid, _ = keys.signer()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    prev, prev_cp, batch, cps = chain.GENESIS, 0, [], []
    with engine.begin() as conn:
        for seq in range(1, records + 1):
            row = {
                "id": seq,
                "seq": seq,
                "at": base + timedelta(seconds=seq * 3),
                "actor_user_id": 7 + seq % 40,
                "actor_username": f"crew-{seq % 40}",
                "actor_role": "paramedic",
                "organisation": "埼玉東部消防組合 加須消防署",
                "device": "加須1号救急車 端末",
                "action": "scan.view",
                "person_id": seq % 100_000 + 1,
                "household_id": seq % 50_000 + 1,
                "fields": "emergency_summary",
                "purpose": "意識障害のため",
                "incident": f"R8-{seq:06d}",
                "emergency": seq % 97 == 0,
                "outcome": "ok",
                "ip": "10.0.0.12",
                "prev_hash": prev,
            }
            row["hash"] = prev = chain.hash_payload(chain.payload(chain.record_values(SimpleNamespace(**row))))
            batch.append(row)
            if seq % every == 0:
                signed_at = base + timedelta(seconds=seq * 3, milliseconds=1)
                message = chain.checkpoint_message(
                    seq=seq, hash=prev, prev_seq=prev_cp, signed_at=chain.at_text(signed_at), kid=kid
                )
                cps.append(
                    {
                        "seq": seq,
                        "hash": prev,
                        "prev_seq": prev_cp,
                        "signed_at": signed_at,
                        "kid": kid,
                        "signature": keys.sign(message)[1],
                    }
                )
                prev_cp = seq
            if len(batch) == 20_000:
                conn.execute(insert(AuditEvent.__table__), batch)
                batch = []
        if batch:
            conn.execute(insert(AuditEvent.__table__), batch)
        if cps:
            conn.execute(insert(AuditCheckpoint.__table__), cps)
        conn.execute(update(AuditHead.__table__).where(AuditHead.__table__.c.id == 1).values(seq=records, hash=prev))


def run(label: str, url: str, args) -> None:
    from app import bootstrap
    from app.audit.signing import audit_keys
    from app.audit.verify import verify_database

    engine = _engine(url)
    bootstrap.prepare_database(engine)
    print(f"\n== {label} ==")
    for processes in (False, True):
        for writers in args.writers:
            rate = append_rate(url, writers, args.seconds, processes=processes)
            kind = "processes" if processes else "threads of one process"
            print(f"append: {writers:>2} concurrent writers ({kind}) → {rate:,.0f} records/s")
    appended = verify_database(engine, keys=audit_keys().public_keys())
    assert appended.ok, appended.first_broken
    # Start the million from an empty log so the figures are about exactly that many records.
    with engine.begin() as conn:
        from sqlalchemy import delete, text, update

        from app.audit.models import AuditCheckpoint, AuditEvent, AuditHead

        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for table in ("auditevent", "auditcheckpoint"):
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
        conn.execute(delete(AuditEvent.__table__))
        conn.execute(delete(AuditCheckpoint.__table__))
        conn.execute(update(AuditHead.__table__).values(seq=0, hash="0" * 64))
    started = time.perf_counter()
    generate(engine, args.records)
    print(
        f"generated {args.records:,} chained records with {args.records // 1000:,} signed checkpoints "
        f"in {time.perf_counter() - started:.1f} s"
    )
    best = None
    for _attempt in range(args.repeat):
        report = verify_database(engine, keys=audit_keys().public_keys())
        assert report.ok and report.records == args.records, report.first_broken
        best = report if best is None or report.seconds < best.seconds else best
    verdict = "meets" if best.rate >= TARGET_PER_SECOND else "BELOW"
    per_cpu = best.records / best.cpu_seconds if best.cpu_seconds else 0
    print(
        f"verify (in-process): {best.records:,} records in {best.seconds:.2f} s → {best.rate:,.0f} records/s "
        f"(best of {args.repeat}; {verdict} the {TARGET_PER_SECOND:,}/s target); "
        f"{best.cpu_seconds:.2f} s CPU in this process → {per_cpu:,.0f} records per CPU-second"
    )
    env = {**os.environ, "LIFELINE_DATABASE_URL": url, "LIFELINE_DATA_DIR": str(DATA_DIR)}
    script = Path(sys.executable).with_name("lifeline")
    started = time.perf_counter()
    result = subprocess.run([str(script), "audit", "verify", "--no-record"], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    print(f"`lifeline audit verify`: exit {result.returncode}, {wall:.2f} s wall clock including start-up; it reports:")
    print("   " + result.stdout.strip().splitlines()[0])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--writers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL; a scratch database is made next to it")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; data directory {DATA_DIR}")
    try:
        _run_all(args)
    finally:
        shutil.rmtree(DATA_DIR, ignore_errors=True)


def _run_all(args) -> None:
    if not args.no_sqlite:
        run("SQLite (embedded default, WAL)", "", args)
    if args.postgres:
        import psycopg
        from psycopg import sql
        from sqlalchemy.engine import make_url

        base = make_url(args.postgres).set(drivername="postgresql")
        name = f"{base.database}_auditbench"
        admin = base.set(database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            run("PostgreSQL", base.set(database=name).render_as_string(hide_password=False), args)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
