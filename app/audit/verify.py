"""``lifeline audit verify``: recompute every hash, follow every link, check the signed checkpoints.

Reads the log in seq order straight from the database driver in batches (no ORM objects in
the loop). The database builds the canonical bytes (SQLite's ``json_array``; on PostgreSQL a
concatenation of ``to_json`` texts, whose escaping is the same as Python's), so this process
only hashes and compares. Encoding the raw columns here instead cost ~7 µs a record and held
PostgreSQL at ~100,000 records/s (docs/decisions.md, "Scale"). Either way the hash is computed
in this process. On PostgreSQL, building those bytes is then the slow part (~4.5 µs a record in
one backend), so ``READERS`` backends build alternate blocks of seqs at once, all on the snapshot
the verifier exported, while this thread hashes them in order.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from app.audit.chain import _RECORD_BASE, CHAINED, GENESIS, at_text, checkpoint_message, encode_json
from app.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from app.audit.signing import check_signature

BATCH = 20_000
MAX_PROBLEMS = 1000
# PostgreSQL backends building the canonical bytes at once, and the seqs each takes per query.
READERS = 2
BLOCK = 50_000

_SQLITE_CHAINED = ["substr(at, 1, 10) || 'T' || substr(at, 12) || 'Z'" if name == "at" else name for name in CHAINED]
SQLITE_QUERY = (
    "SELECT seq, id, prev_hash, hash, CAST(json_array(" + ", ".join(_SQLITE_CHAINED) + ") AS BLOB) "
    "FROM auditevent ORDER BY seq"
)
_POSTGRES_CHAINED = [
    """to_json(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text"""
    if name == "at"
    else "CASE WHEN emergency THEN '1' ELSE '0' END"
    if name == "emergency"
    else f"COALESCE(to_json({name})::text, 'null')"
    for name in CHAINED
]
_POSTGRES_SELECT = (
    "SELECT seq, id, prev_hash, hash, convert_to('[' || " + " || ',' || ".join(_POSTGRES_CHAINED) + " || ']', 'UTF8') "
    "FROM auditevent"
)
POSTGRES_QUERY = _POSTGRES_SELECT + " ORDER BY seq"
POSTGRES_BLOCK_QUERY = _POSTGRES_SELECT + " WHERE seq >= %s AND seq < %s ORDER BY seq"
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")

# What each kind of problem means, for the CLI (the admin page shows its own Japanese text).
MEANING = {
    "changed": "record changed: its contents no longer match its hash",
    "link": "does not link to the record before it: that record was altered (hash recomputed), "
    "or a record was removed or inserted here",
    "missing": "record missing (deleted): the sequence jumps over it",
    "order": "record out of order or duplicated (inserted)",
    "renumbered": "record renumbered: its id differs from its seq",
    "head": "the chain's head disagrees with the last record: records were removed from the end, "
    "or appended outside the audit writer",
    "checkpoint_signature": "checkpoint signature invalid or signed by an unknown key",
    "checkpoint_mismatch": "checkpoint does not match the record's hash: history up to here was rewritten",
    "checkpoint_beyond": "checkpoint names a record that no longer exists: the end of the log was removed",
    "checkpoint_chain": "checkpoint does not follow the previous one: a checkpoint was removed",
}


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str
    detail: str = ""

    def describe(self) -> str:
        text = f"seq {self.seq}: {MEANING[self.kind]}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass
class Report:
    source: str = "database"
    records: int = 0
    first_seq: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process only (a busy machine slows the wall clock, not this)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first_broken(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None

    def add(self, seq: int, kind: str, detail: str = "") -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq, kind, detail))

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def scan(
    batches: Iterable[list],
    report: Report,
    *,
    raw: bool,
    start_seq: int = 1,
    start_hash: str = GENESIS,
    watch: set[int] = frozenset(),
) -> dict[int, str]:
    """Check rows ``(seq, id, prev_hash, hash, payload)`` (or the chained columns instead of
    ``payload`` when ``raw``) in seq order; return the stored hashes at the ``watch`` seqs."""
    expected, prev, count = start_seq, start_hash, 0
    seen: dict[int, str] = {}
    base, encode = _RECORD_BASE, encode_json
    for rows in batches:
        count += len(rows)
        for row in rows:  # the hot loop: about 3 µs a record, most of it SHA-256 (and JSON when raw)
            seq, stored = row[0], row[3]
            digest = base.copy()
            digest.update(encode(row[4:]).encode() if raw else row[4])
            if seq == expected and row[1] == seq and row[2] == prev and digest.hexdigest() == stored:
                expected += 1
            else:
                _diagnose(report, row, expected, prev, digest.hexdigest())
                expected = max(expected, seq + 1)
            if seq in watch:
                seen[seq] = stored
            prev = stored
    report.records += count
    report.last_seq, report.last_hash = expected - 1, prev
    return seen


def _diagnose(report: Report, row, expected: int, prev: str, computed: str) -> None:
    seq = row[0]
    if seq < expected:
        report.add(seq, "order")
    elif seq > expected:
        report.add(expected, "missing", f"seq {expected}–{seq - 1} absent" if seq > expected + 1 else "")
    elif row[2] != prev:
        report.add(seq, "link")
    if row[1] != seq:
        report.add(seq, "renumbered", f"id {row[1]}")
    if computed != row[3]:
        report.add(seq, "changed")


def _threaded(batches: Iterator[list]) -> Iterator[list]:
    """Fetch the next batches (in a thread of their own) while the caller hashes the current one."""
    q: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        q.put(batch, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(exc)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # a generator's own cleanup (its connection) runs here, in its thread

    thread = threading.Thread(target=produce, name="audit-verify-reader", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _postgres_blocks(conn: Connection, engine: Engine, *, readers: int, block: int) -> Iterator[list]:
    """The rows in seq order, each block of ``block`` seqs built by one of ``readers`` connections.

    Every reader imports the snapshot ``conn``'s transaction exported, so all of them, and the
    head and checkpoints ``conn`` read, see the same committed state. Blocks partition the seqs
    from the lowest to the highest, so every row is in exactly one, in order: what the chain check
    sees is what one query ``ORDER BY seq`` gives. Only for a log whose seqs run without a gap or
    a duplicate, as the writer leaves it; any other log was tampered with (a forged seq far out
    would also make countless empty blocks), and one ordered query reads it, as before.
    """
    snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # it goes into SQL text: SET TRANSACTION takes no parameter
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    low, high, count = conn.execute(select(func.min(AuditEvent.seq), func.max(AuditEvent.seq), func.count())).one()
    if low is None:
        return
    if high - low + 1 != count:
        yield from _one_reader(conn)
        return
    starts = range(low, high + 1, block)

    def read(share: range) -> Iterator[list]:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as reader:
            reader.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            cursor = reader.connection.driver_connection.cursor(binary=True)
            for start in share:
                cursor.execute(POSTGRES_BLOCK_QUERY, (start, start + block))
                yield cursor.fetchall()
            cursor.close()
            reader.rollback()

    streams = [_threaded(read(starts[r::readers])) for r in range(readers)]
    try:
        for i in range(len(starts)):
            yield next(streams[i % readers])
    finally:
        for stream in streams:
            stream.close()


def _sqlite_rows(conn: Connection) -> Iterator[list]:
    """The rows in seq order, SQLite building the canonical bytes (``json_array``) in this process."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(SQLITE_QUERY)
        yield from _batches(cursor)
    finally:
        cursor.close()


def _one_reader(conn: Connection) -> Iterator[list]:
    """The rows in seq order from one query on ``conn``, fetched ahead in a thread."""
    # Server-side (streams, never loads it all), binary protocol (no parsing of numbers).
    cursor = conn.connection.driver_connection.cursor(name="lifeline_audit_verify", binary=True)
    try:
        cursor.execute(POSTGRES_QUERY)
        yield from _threaded(_batches(cursor))
    finally:
        cursor.close()


def _batches(cursor) -> Iterator[list]:
    while rows := cursor.fetchmany(BATCH):
        yield rows


def _check_checkpoints(
    report: Report, checkpoints: list[AuditCheckpoint], seen: dict[int, str], keys, previous: int = 0
) -> None:
    last_good = previous
    for cp in checkpoints:
        message = checkpoint_message(
            seq=cp.seq, hash=cp.hash, prev_seq=cp.prev_seq, signed_at=at_text(cp.signed_at), kid=cp.kid
        )
        if not check_signature(keys, cp.kid, message, cp.signature):
            report.add(cp.seq, "checkpoint_signature", f"key {cp.kid}")
        elif cp.prev_seq != previous:
            report.add(
                cp.seq, "checkpoint_chain", f"says the previous checkpoint is seq {cp.prev_seq}, found seq {previous}"
            )
        if cp.seq > report.last_seq:
            report.add(cp.seq, "checkpoint_beyond", f"the log ends at seq {report.last_seq}")
        elif cp.seq in seen and seen[cp.seq] != cp.hash:
            report.add(cp.seq, "checkpoint_mismatch", f"rewritten somewhere in seq {last_good + 1}–{cp.seq}")
        else:
            last_good = cp.seq
        previous = cp.seq
    report.checkpoints = len(checkpoints)


def verify_connection(conn: Connection, *, keys, readers_from: Engine | None = None) -> Report:
    """Verify the chain, the head and the checkpoints as one consistent snapshot read through ``conn``.

    On PostgreSQL, ``readers_from`` (the engine ``conn`` came from) lends the connections that
    build the blocks in parallel; without it (a connection inside a caller's transaction, whose
    own writes other connections cannot see) ``conn`` reads everything itself.
    """
    started, cpu = time.perf_counter(), time.process_time()
    report = Report()
    head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    checkpoints = [
        AuditCheckpoint(**row._mapping) for row in conn.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))
    ]
    if conn.dialect.name == "sqlite":
        rows = _sqlite_rows(conn)
    elif readers_from is not None:
        rows = _postgres_blocks(conn, readers_from, readers=READERS, block=BLOCK)
    else:
        rows = _one_reader(conn)
    seen = scan(rows, report, raw=False, watch={cp.seq for cp in checkpoints})
    report.first_seq = 1 if report.records else 0
    head_seq, head_hash = head if head else (0, GENESIS)
    if (head_seq, head_hash) != (report.last_seq, report.last_hash):
        report.add(
            min(head_seq, report.last_seq) + 1,
            "head",
            f"head says seq {head_seq}, the log ends at seq {report.last_seq}",
        )
    _check_checkpoints(report, checkpoints, seen, keys)
    report.seconds, report.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return report


def verify_database(bind: Engine | Connection, *, keys) -> Report:
    """Verify the audit log of ``bind`` (an engine, or a connection already in a transaction)."""
    if isinstance(bind, Connection):
        return verify_connection(bind, keys=keys)
    options = {"isolation_level": "REPEATABLE READ"} if bind.dialect.name == "postgresql" else {}
    with bind.connect().execution_options(**options) as conn:
        if conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:
            # One read snapshot for head, checkpoints and records (WAL keeps appenders unblocked).
            conn.exec_driver_sql("BEGIN")
        try:
            return verify_connection(conn, keys=keys, readers_from=bind)
        finally:
            conn.rollback()
