"""The chain itself: canonical bytes, checkpoints, concurrent appenders, archives and the CLI."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import select

from app.audit import chain
from app.audit import service as audit
from app.audit import verify as verify_module
from app.audit.archive import export_segment, verify_archive
from app.audit.models import AuditCheckpoint, AuditEvent
from app.audit.signing import audit_keys
from app.audit.verify import POSTGRES_QUERY, SQLITE_QUERY
from tests.audit.conftest import add_events, verify
from tests.conftest import IS_POSTGRES

# A record whose hash is fixed by docs/audit.md: if this changes, the format changed.
VECTOR = {
    "seq": 1,
    "at": datetime(2026, 4, 1, 0, 0, 0, 123456, tzinfo=UTC),
    "actor_user_id": 4,
    "actor_username": "demo-paramedic",
    "actor_role": "paramedic",
    "organisation": "埼玉東部消防組合 加須消防署",
    "device": "加須1号救急車 端末",
    "action": "scan.view",
    "person_id": 1,
    "household_id": 1,
    "fields": "emergency_summary",
    "purpose": "意識障害",
    "incident": "R8-000123",
    "emergency": False,
    "outcome": "ok",
    "ip": "10.0.0.5",
    "prev_hash": chain.GENESIS,
}
VECTOR_BYTES = (
    'lifeline-audit/1\n[1,"2026-04-01T00:00:00.123456Z",4,"demo-paramedic","paramedic","埼玉東部消防組合 加須消防署",'
    '"加須1号救急車 端末","scan.view",1,1,"emergency_summary","意識障害","R8-000123",0,"ok","10.0.0.5",'
    '"0000000000000000000000000000000000000000000000000000000000000000"]'
).encode()


def test_canonical_encoding_is_the_documented_one():
    event = AuditEvent(**VECTOR)
    assert chain.canonical(event) == VECTOR_BYTES
    assert chain.digest(event) == hashlib.sha256(VECTOR_BYTES).hexdigest()
    assert "docs/audit.md" in chain.__doc__


text_values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    purpose=text_values,
    device=text_values,
    person=st.one_of(st.none(), st.integers(1, 2**31 - 1)),
    emergency=st.booleans(),
)
def test_the_database_builds_the_same_bytes_as_python(connection, purpose, device, person, emergency):
    """verify reads the canonical bytes as the database builds them; they must equal what append hashed."""
    savepoint = connection.begin_nested()
    event = audit.append(
        engine=connection, action="person.view", purpose=purpose, device=device, person_id=person, emergency=emergency
    )
    query = SQLITE_QUERY if connection.dialect.name == "sqlite" else POSTGRES_QUERY
    row = connection.exec_driver_sql(query.replace("ORDER BY", f"WHERE seq = {event.seq} ORDER BY")).one()
    assert bytes(row[4]) == chain.payload(chain.record_values(event))
    assert chain.digest(event) == event.hash
    savepoint.rollback()


def test_id_equals_seq_and_long_or_nul_values_are_kept_safely(connection, db):
    event = audit.append(engine=connection, action="scan.view", device="x" * 500, purpose="理由\x00" + "あ" * 500)
    stored = db.exec(select(AuditEvent).where(AuditEvent.seq == event.seq)).one()
    assert stored.id == stored.seq
    assert len(stored.device) == 100 and len(stored.purpose) == 400 and "\x00" not in stored.purpose
    assert verify(connection).ok


def test_a_signed_checkpoint_every_n_records(connection, db, every):
    every(3)
    events = add_events(connection, 7)
    checkpoints = db.exec(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
    mine = [cp for cp in checkpoints if cp.seq >= events[0].seq]
    assert [cp.seq for cp in mine] == [e.seq for e in events if e.seq % 3 == 0]
    by_seq = {e.seq: e for e in events}
    assert all(cp.hash == by_seq[cp.seq].hash for cp in mine)
    assert all(cp.prev_seq == (checkpoints[i - 1].seq if i else 0) for i, cp in enumerate(checkpoints))
    assert verify(connection).ok


def test_checkpoint_on_demand(connection, every):
    every(1_000_000)
    events = add_events(connection, 2)
    cp = audit.checkpoint(engine=connection)
    assert (cp.seq, cp.hash) == (events[-1].seq, events[-1].hash)
    assert audit.checkpoint(engine=connection).id == cp.id  # already signed: the same one
    assert verify(connection).checkpoints >= 1


def test_concurrent_appenders_never_fork_the_chain(scratch):
    errors = []

    def writer(n):
        try:
            for _ in range(25):
                audit.append(engine=scratch.engine, action="person.view", actor_username=f"writer-{n}", person_id=n)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = verify(scratch.engine)
    assert report.ok and report.records == 150 and report.last_seq == 150


def test_archive_segments_verify_on_their_own(scratch, tmp_path, every):
    every(4)
    add_events(scratch.engine, 10)
    first = export_segment(engine=scratch.engine, path=tmp_path / "a.jsonl", until_seq=4)
    second = export_segment(engine=scratch.engine, path=tmp_path / "b.jsonl.gz", from_seq=5)
    assert (first["from_seq"], first["until_seq"], second["from_seq"], second["until_seq"]) == (1, 4, 5, 8)
    keys = audit_keys().public_keys()
    for name in ("a.jsonl", "b.jsonl.gz"):
        report = verify_archive(tmp_path / name, keys=keys)
        assert report.ok and report.records == 4, [p.describe() for p in report.problems]
    assert (tmp_path / "a.jsonl").stat().st_mode & 0o077 == 0  # as private as the database


def test_a_tampered_archive_names_the_record(scratch, tmp_path, every):
    every(4)
    add_events(scratch.engine, 8)
    export_segment(engine=scratch.engine, path=tmp_path / "seg.jsonl", until_seq=8, from_seq=5)
    lines = (tmp_path / "seg.jsonl").read_text().splitlines()
    doc = json.loads(lines[2])  # seq 6
    doc["purpose"] = "改ざん"
    lines[2] = json.dumps(doc, ensure_ascii=False)
    (tmp_path / "seg.jsonl").write_text("\n".join(lines) + "\n")
    report = verify_archive(tmp_path / "seg.jsonl", keys=audit_keys().public_keys())
    assert report.first_broken.seq == 6 and report.first_broken.kind == "changed"
    del lines[3]  # seq 7 removed as well
    (tmp_path / "seg.jsonl").write_text("\n".join(lines) + "\n")
    assert {
        (p.seq, p.kind) for p in verify_archive(tmp_path / "seg.jsonl", keys=audit_keys().public_keys()).problems
    } >= {(6, "changed"), (7, "missing")}


def test_export_needs_checkpoints_at_both_ends(scratch, tmp_path, every):
    from app.core.errors import Invalid

    every(4)
    add_events(scratch.engine, 6)
    with pytest.raises(Invalid):
        export_segment(engine=scratch.engine, path=tmp_path / "x.jsonl", until_seq=5)
    with pytest.raises(Invalid):
        export_segment(engine=scratch.engine, path=tmp_path / "x.jsonl", until_seq=4, from_seq=2)


def test_cli_verify_export_and_archive(scratch, tmp_path, every):
    """The commands an operator runs, against a real committed database."""
    every(5)
    add_events(scratch.engine, 12)
    ok = scratch.cli("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "12 records" in ok.stdout and "OK" in ok.stdout
    exported = scratch.cli("audit", "export", "--until", "10", str(tmp_path / "seg.jsonl.gz"))
    assert exported.returncode == 0, exported.stderr
    with gzip.open(tmp_path / "seg.jsonl.gz", "rt") as fh:
        assert json.loads(fh.readline())["until_seq"] == 10
    assert scratch.cli("audit", "verify", "--archive", str(tmp_path / "seg.jsonl.gz")).returncode == 0
    assert "checkpoint seq" in scratch.cli("audit", "checkpoint").stdout


@pytest.mark.parametrize(
    "tamper, seq, words",
    [
        ("UPDATE auditevent SET purpose = 'x' WHERE seq = 4", 4, "record changed"),
        ("DELETE FROM auditevent WHERE seq = 6", 6, "record missing"),
        ("UPDATE auditevent SET id = 1000 WHERE seq = 3", 3, "record renumbered"),
    ],
)
def test_cli_verify_fails_and_names_the_first_broken_record(scratch, every, tamper, seq, words):
    every(1_000_000)
    add_events(scratch.engine, 8)
    scratch.sql(tamper)
    result = scratch.cli("audit", "verify")
    assert result.returncode == 1
    assert f"first broken record: seq {seq}: {words}" in result.stderr, result.stderr
    # The failed verification is itself on record, with its finding.
    with scratch.engine.connect() as conn:
        last = conn.execute(text("SELECT action, outcome FROM auditevent ORDER BY seq DESC LIMIT 1")).one()
    assert tuple(last) == ("audit.verify", "broken")


@pytest.mark.skipif(
    not IS_POSTGRES, reason="parallel readers are PostgreSQL's (SQLite builds the bytes in this process)"
)
@pytest.mark.parametrize(
    "tamper",
    [
        None,
        "UPDATE auditevent SET purpose = 'x' WHERE seq = 4",  # the last record of a block
        "UPDATE auditevent SET prev_hash = hash WHERE seq = 5",  # the first of the next
        "DELETE FROM auditevent WHERE seq = 5",
        "DELETE FROM auditevent WHERE seq BETWEEN 9 AND 12",  # a whole block gone
        "DELETE FROM auditevent WHERE seq >= 19",  # the tail
        "UPDATE auditevent SET id = 1000 WHERE seq = 13",
    ],
)
def test_parallel_readers_find_what_one_reader_finds(scratch, every, monkeypatch, tamper):
    """Blocks of 4 seqs over 3 readers: every boundary case reports exactly what one ordered query reports."""
    every(5)
    add_events(scratch.engine, 22)
    if tamper:
        scratch.sql(tamper)
    monkeypatch.setattr(verify_module, "BLOCK", 4)
    monkeypatch.setattr(verify_module, "READERS", 3)
    blocks = []
    original = verify_module._postgres_blocks
    monkeypatch.setattr(verify_module, "_postgres_blocks", lambda *a, **kw: blocks.append(kw) or original(*a, **kw))
    parallel = verify(scratch.engine)
    assert blocks == [{"readers": 3, "block": 4}]
    with scratch.engine.connect() as conn, conn.begin():
        alone = verify(conn)  # a connection: one reader, one ordered query
    assert (parallel.records, parallel.last_seq, parallel.last_hash) == (alone.records, alone.last_seq, alone.last_hash)
    assert parallel.problems == alone.problems
    assert parallel.ok == (tamper is None) and parallel.checkpoints == alone.checkpoints >= 4
    deadline = time.monotonic() + 10  # every reader gives its connection back (from its own thread, as it ends)
    while scratch.engine.pool.checkedout() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scratch.engine.pool.checkedout() == 0


def test_key_rotation_is_recorded_before_and_after(scratch):
    result = scratch.cli("keys", "rotate")
    assert result.returncode == 0, result.stderr
    with scratch.engine.connect() as conn:
        rows = conn.execute(text("SELECT action, actor_role, outcome, purpose FROM auditevent ORDER BY seq")).all()
    assert [(r[0], r[1], r[2]) for r in rows] == [("key.rotate", "cli", "requested"), ("key.rotate", "cli", "ok")]
    assert rows[1][3].startswith("new kid ")
    assert scratch.cli("audit", "verify").returncode == 0
