"""Tamper evidence: change any field, delete or insert a record, rewrite history, cut the tail —
``audit verify`` fails and names the place. On SQLite and on PostgreSQL (triggers bypassed as a
superuser would), in the test's rolled-back transaction; end to end through ``lifeline`` below."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from app.audit import chain
from app.audit.models import AuditCheckpoint, AuditEvent
from tests.audit.conftest import add_events, bypass_append_only, verify

EVENT_COLUMNS = [c.name for c in AuditEvent.__table__.columns]
CHECKPOINT_COLUMNS = [c.name for c in AuditCheckpoint.__table__.columns if c.name != "id"]


def _row(conn, table: str, seq: int) -> dict:
    """The row with its columns' types applied (timestamps as aware datetimes, on both databases)."""
    model = {"auditevent": AuditEvent, "auditcheckpoint": AuditCheckpoint}[table].__table__
    return dict(conn.execute(select(model).where(model.c.seq == seq)).mappings().one())


def _other(column: str, value):
    """A different value of the same type, as a forger would write."""
    if column in ("hash", "prev_hash"):
        return ("1" if value[0] != "1" else "2") + value[1:]
    if column in ("at", "signed_at"):
        return value + timedelta(microseconds=1)
    if column == "emergency":
        return not value
    if column in ("id", "seq"):
        return value + 1_000_000
    if isinstance(value, int) or value is None:
        return (value or 0) + 1
    return (
        value + "x" if column not in ("kid", "signature") else value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    )


def _set(conn, table: str, column: str, seq: int, value) -> None:
    model = {"auditevent": AuditEvent, "auditcheckpoint": AuditCheckpoint}[table].__table__
    conn.execute(update(model).where(model.c.seq == seq).values({column: value}))


def test_an_intact_log_verifies(db, connection, every):
    every(4)
    add_events(connection, 9, emergency=True, incident="R8-000123", purpose='意識障害 "引用" \\ 𠮷')
    report = verify(connection)
    assert report.ok, [p.describe() for p in report.problems]
    assert report.records >= 9 and report.checkpoints >= 2


@pytest.mark.parametrize("column", EVENT_COLUMNS)
def test_changing_any_field_of_a_record_is_detected(column, connection):
    events = add_events(connection, 3)
    target = events[1].seq
    bypass_append_only(connection)
    _set(connection, "auditevent", column, target, _other(column, _row(connection, "auditevent", target)[column]))
    report = verify(connection)
    assert not report.ok
    assert report.first_broken.seq == target, report.first_broken.describe()


@pytest.mark.parametrize("column", CHECKPOINT_COLUMNS)
def test_changing_any_field_of_a_checkpoint_is_detected(column, connection, every):
    every(2)
    add_events(connection, 6)
    cp = connection.execute(text("SELECT seq FROM auditcheckpoint ORDER BY seq DESC LIMIT 1")).scalar_one()
    bypass_append_only(connection)
    new = _other(column, _row(connection, "auditcheckpoint", cp)[column])
    _set(connection, "auditcheckpoint", column, cp, new)
    report = verify(connection)
    assert not report.ok
    assert report.first_broken.kind.startswith("checkpoint")
    # Named by the seq it carries now: a renumbered checkpoint by its new number.
    assert report.first_broken.seq == (new if column == "seq" else cp)


def test_a_deleted_record_is_named(connection):
    events = add_events(connection, 4)
    bypass_append_only(connection)
    connection.execute(text("DELETE FROM auditevent WHERE seq = :seq"), {"seq": events[2].seq})
    report = verify(connection)
    assert report.first_broken.seq == events[2].seq and report.first_broken.kind == "missing"


def test_a_record_appended_behind_the_writers_back_is_named(connection):
    events = add_events(connection, 2)
    last = events[-1]
    forged = {c: getattr(last, c) for c in EVENT_COLUMNS} | {
        "id": last.seq + 1,
        "seq": last.seq + 1,
        "prev_hash": last.hash,
        "purpose": "forged",
    }
    forged["hash"] = chain.digest(AuditEvent(**forged))  # even with a correct hash
    connection.execute(AuditEvent.__table__.insert().values(**forged))
    report = verify(connection)
    assert report.first_broken.seq == last.seq + 1 and report.first_broken.kind == "head"


def test_a_record_inserted_in_the_middle_is_named(connection):
    events = add_events(connection, 3)
    middle = events[1]
    bypass_append_only(connection)
    connection.execute(text("DROP INDEX ix_auditevent_seq"))  # a superuser can drop the uniqueness too
    forged = {c: getattr(middle, c) for c in EVENT_COLUMNS} | {"id": 10_000_000 + middle.seq, "purpose": "forged"}
    connection.execute(AuditEvent.__table__.insert().values(**forged))
    report = verify(connection)
    assert report.first_broken.seq == middle.seq


def test_rewriting_history_with_recomputed_hashes_is_caught_by_the_signed_checkpoint(connection, every):
    """Whoever can write the database can recompute SHA-256; they cannot sign without the key."""
    every(3)
    events = add_events(connection, 7)
    bypass_append_only(connection)
    target = events[0].seq
    rows = [_row(connection, "auditevent", e.seq) for e in events]
    rows[0]["purpose"] = "rewritten"
    prev = rows[0]["prev_hash"]
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = chain.digest(AuditEvent(**row))
        _set(connection, "auditevent", "purpose", row["seq"], row["purpose"])
        _set(connection, "auditevent", "prev_hash", row["seq"], row["prev_hash"])
        _set(connection, "auditevent", "hash", row["seq"], row["hash"])
    connection.execute(text("UPDATE audithead SET hash = :hash WHERE id = 1"), {"hash": prev})
    report = verify(connection)
    assert not report.ok
    first = report.first_broken
    assert first.kind == "checkpoint_mismatch" and first.seq >= target  # the first checkpoint after the rewrite
    assert [p.kind for p in report.problems if p.kind != "checkpoint_mismatch"] == []


def test_a_cut_tail_is_detected_by_the_head_and_by_a_later_checkpoint(connection, every):
    every(1_000_000)
    events = add_events(connection, 4)
    from app.audit import service as audit

    audit.checkpoint(engine=connection)
    bypass_append_only(connection)
    connection.execute(text("DELETE FROM auditevent WHERE seq >= :seq"), {"seq": events[2].seq})
    report = verify(connection)
    assert report.first_broken.seq == events[2].seq and report.first_broken.kind == "head"
    # Even when the head is moved back too, the signed checkpoint names a record that is gone.
    connection.execute(
        text("UPDATE audithead SET seq = :seq, hash = :hash WHERE id = 1"),
        {"seq": events[1].seq, "hash": events[1].hash},
    )
    report = verify(connection)
    assert [p.kind for p in report.problems] == ["checkpoint_beyond"] and report.first_broken.seq == events[-1].seq


def test_a_removed_checkpoint_is_detected_by_the_next(connection, every):
    every(2)
    add_events(connection, 6)
    seqs = connection.execute(text("SELECT seq FROM auditcheckpoint ORDER BY seq")).scalars().all()
    bypass_append_only(connection)
    connection.execute(text("DELETE FROM auditcheckpoint WHERE seq = :seq"), {"seq": seqs[-2]})
    report = verify(connection)
    assert report.first_broken.kind == "checkpoint_chain" and report.first_broken.seq == seqs[-1]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE auditevent SET purpose = 'x'",
        "DELETE FROM auditevent",
        "UPDATE auditcheckpoint SET hash = 'x'",
        "DELETE FROM auditreview",
    ],
)
def test_the_database_refuses_updates_and_deletes(statement, connection, every, personas):
    every(1)
    add_events(connection, 1)
    connection.execute(
        text(
            "INSERT INTO auditreview (event_seq, kind, reviewer_user_id, reviewer_role, reviewed_at, note) "
            "VALUES (1, 'access', :user, 'doctor', CURRENT_TIMESTAMP, '')"
        ),
        {"user": personas.doctor.id},
    )
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text(statement))
    savepoint.rollback()


def test_postgres_refuses_truncate(connection):
    if connection.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text("TRUNCATE auditevent"))
    savepoint.rollback()
