"""Import runs: validate an extract, apply it in one transaction, report progress and problems.

Phase 1 reads and checks every row (and compares with the registry) without writing; any
problem stops the run with all problems listed. Phase 2 applies the whole file in a single
transaction, so a crash or ``kill -9`` part-way leaves nothing half-written. The job row is
written through separate short sessions so that other requests can follow it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, select

from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.errors import NotFound
from app.core.models import Actor
from app.imports import parser
from app.imports import plan as planner
from app.imports.models import ACTIVE, ImportJob, ImportJobPublic, ImportStatus
from app.imports.parser import FileRejected, Problem

log = logging.getLogger(__name__)
OnProgress = Callable[[str, int, int], None]
MAX_STORED_PROBLEMS = 1000
# A job on another host that has not reported for this long is taken for dead.
STALE_AFTER = timedelta(hours=6)
INTERRUPTED = (
    "取込が途中で止まりました（サーバーの停止など）。何も書き込まれていません。同じファイルをもう一度取り込めます"
)

# Jobs running in this process -> rows processed in the current phase. Lets a poller in the same
# process show live progress even while SQLite's single writer lock keeps the job row unwritten.
_live: dict[int, int] = {}
_live_lock = threading.Lock()


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _session(engine) -> Session:
    # Given a connection already in a transaction (the tests), work in a savepoint of it.
    return Session(engine, join_transaction_mode="create_savepoint", expire_on_commit=False)


def _save(engine, job_id: int, **values) -> ImportJob:
    with _session(engine) as session:
        job = session.get(ImportJob, job_id)
        for key, value in values.items():
            setattr(job, key, value)
        job.updated_at = utcnow()
        session.add(job)
        session.commit()
        return job


def create_job(*, engine, actor: Actor, filename: str, dry_run: bool) -> ImportJob:
    """Record a new, pending import run owned by this process."""
    with _session(engine) as session:
        job = ImportJob(
            filename=filename[:200],
            dry_run=dry_run,
            created_by_id=actor.user_id,
            created_by_name=actor.name[:100],
            worker=_worker(),
        )
        session.add(job)
        session.commit()
    with _live_lock:
        _live[job.id] = 0
    return job


def upload_path(*, job_id: int) -> Path:
    """Where the upload of a job waits for the background run (deleted when it ends)."""
    return get_settings().resolved_data_dir / "imports" / f"{job_id}.csv"


def store_upload(*, job_id: int, source: BinaryIO) -> Path:
    """Copy an upload to the data directory with mode 0600, refusing more than the size limit."""
    limit = get_settings().max_upload_bytes
    path = upload_path(job_id=job_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = 0
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > limit:
                break
            out.write(chunk)
    if written > limit:
        path.unlink(missing_ok=True)
        raise _too_large(limit)
    return path


def _too_large(limit: int) -> FileRejected:
    return FileRejected(
        "ファイルが大きすぎます（上限 %(limit)s MB）。分割して取り込んでください", limit=limit // (1024 * 1024)
    )


def reject(*, engine, job_id: int, problem: Problem) -> ImportJob:
    """End a job that cannot start (for example an upload over the size limit)."""
    try:
        return _finish(engine, job_id, ImportStatus.failed, problems=[problem])
    finally:
        _forget(job_id)


class _Tracker:
    """Progress for the command-line bar, for pollers in this process and, when safe, the job row."""

    def __init__(self, engine, job_id: int, callback: OnProgress | None):
        self.engine, self.job_id, self.callback = engine, job_id, callback
        self.total, self.last_write = 0, 0.0
        # SQLite has one writer: while the import transaction holds it, another connection would
        # wait on it (and we on that), so there the row is only written between the phases.
        self.write_while_applying = engine.dialect.name != "sqlite"

    def validating(self, done: int, total: int) -> None:
        self.total = total
        self._report(ImportStatus.validating, done, write=True)

    def applying(self, done: int) -> None:
        self._report(ImportStatus.running, done, write=self.write_while_applying)

    def _report(self, phase: ImportStatus, done: int, *, write: bool) -> None:
        with _live_lock:
            _live[self.job_id] = done
        if self.callback:
            self.callback(phase.value, done, self.total)
        now = time.monotonic()
        if write and (now - self.last_write >= 1.0 or done == self.total):
            self.last_write = now
            _save(self.engine, self.job_id, processed_rows=done, total_rows=self.total)


def validate_file(*, session: Session, data: bytes, progress=None) -> tuple[parser.Parsed, planner.Plan | None]:
    """Phase 1: read and check every row, then compare with the registry; writes nothing."""
    limit = get_settings().max_upload_bytes
    if len(data) > limit:
        raise _too_large(limit)
    parsed = parser.read(data, progress=progress)
    if parsed.problems:
        return parsed, None
    return parsed, planner.make(session=session, parsed=parsed)


def run_import(*, engine, job_id: int, data: bytes, actor: Actor, on_progress: OnProgress | None = None) -> ImportJob:
    """Validate ``data``; unless it has problems or the job is a dry run, apply it all-or-nothing."""
    tracker = _Tracker(engine, job_id, on_progress)
    try:
        job = _save(engine, job_id, status=ImportStatus.validating, worker=_worker())
        with _session(engine) as session:
            parsed, plan = validate_file(session=session, data=data, progress=tracker.validating)
        tracker.total = parsed.total_rows
        if plan is None:
            return _finish(
                engine,
                job_id,
                ImportStatus.failed,
                problems=parsed.problems,
                notices=parsed.notices,
                total=parsed.total_rows,
            )
        counts = plan.counts()
        nothing_to_write = not (
            counts["created"] or counts["updated"] or counts["households_created"] or counts["households_updated"]
        )
        if plan.problems or job.dry_run or nothing_to_write:
            status = ImportStatus.failed if plan.problems else ImportStatus.done
            return _finish(
                engine,
                job_id,
                status,
                problems=plan.problems,
                notices=parsed.notices,
                counts=counts,
                total=parsed.total_rows,
            )
        _save(engine, job_id, status=ImportStatus.running, processed_rows=0, total_rows=parsed.total_rows)
        with _session(engine) as session:
            _take_write_lock(session, job_id)
            # Planned again inside the transaction: someone may have saved since phase 1.
            plan = planner.make(session=session, parsed=parsed)
            if plan.problems:
                session.rollback()
                return _finish(
                    engine,
                    job_id,
                    ImportStatus.failed,
                    problems=plan.problems,
                    notices=parsed.notices,
                    total=parsed.total_rows,
                )
            planner.apply(session=session, plan=plan, actor=actor, progress=tracker.applying)
            session.commit()
        return _finish(
            engine, job_id, ImportStatus.done, notices=parsed.notices, counts=plan.counts(), total=parsed.total_rows
        )
    except FileRejected as exc:
        return _finish(engine, job_id, ImportStatus.failed, problems=[exc.problem])
    except (StaleDataError, IntegrityError):
        log.warning("import job %s collided with a concurrent change", job_id, exc_info=True)
        return _finish(
            engine,
            job_id,
            ImportStatus.failed,
            problems=[
                Problem(
                    None,
                    "",
                    "取込中に他の職員が同じ世帯や登録者を更新しました。何も書き込んでいません。もう一度取り込んでください",
                )
            ],
        )
    except Exception:  # noqa: BLE001 - the clerk gets a clear message, the log the details
        log.exception("import job %s failed", job_id)
        return _finish(
            engine,
            job_id,
            ImportStatus.failed,
            problems=[
                Problem(
                    None, "", "取込中に予期しないエラーが起きました。何も書き込んでいません。管理者にお知らせください"
                )
            ],
        )
    finally:
        _forget(job_id)


def run_upload(*, engine, job_id: int, actor: Actor) -> ImportJob:
    """Background task: import the stored upload of a job, then delete the file."""
    path = upload_path(job_id=job_id)
    try:
        data = path.read_bytes()
    except OSError:
        return reject(
            engine=engine,
            job_id=job_id,
            problem=Problem(None, "", "アップロードされたファイルを読めませんでした。もう一度アップロードしてください"),
        )
    try:
        return run_import(engine=engine, job_id=job_id, data=data, actor=actor)
    finally:
        path.unlink(missing_ok=True)


def _take_write_lock(session: Session, job_id: int) -> None:
    # SQLite has one writer: take it before re-reading the registry, so the plan and the writes
    # see the same data and no other writer can slip in between (PostgreSQL locks rows instead).
    if session.get_bind().dialect.name == "sqlite":
        session.exec(update(ImportJob).where(ImportJob.id == job_id).values(updated_at=utcnow()))


def _forget(job_id: int) -> None:
    with _live_lock:
        _live.pop(job_id, None)


def _finish(
    engine, job_id: int, status: ImportStatus, *, problems=(), notices=(), counts=None, total=None
) -> ImportJob:
    problems = sorted(problems, key=lambda p: p.line or 0)
    stored = [p.as_dict() for p in problems[:MAX_STORED_PROBLEMS]]
    if len(problems) > MAX_STORED_PROBLEMS:
        stored.append(
            Problem(
                None, "", "ほかに%(count)d件のエラーがあります", {"count": len(problems) - MAX_STORED_PROBLEMS}
            ).as_dict()
        )
    values = dict(counts or {})
    if total is not None:
        values.update(total_rows=total, processed_rows=total if status == ImportStatus.done else 0)
    return _save(
        engine,
        job_id,
        status=status,
        errors=json.dumps(stored, ensure_ascii=False),
        error_count=len(problems),
        notices=json.dumps([n.as_dict() for n in notices], ensure_ascii=False),
        finished_at=utcnow(),
        **values,
    )


def _orphaned(job: ImportJob) -> bool:
    """True when the process that ran ``job`` is gone (so its transaction never committed)."""
    host, _, pid = job.worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        seen = job.updated_at if job.updated_at.tzinfo else job.updated_at.replace(tzinfo=UTC)
        return utcnow() - seen > STALE_AFTER
    if int(pid) == os.getpid():
        with _live_lock:
            return job.id not in _live
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _checked(session: Session, job: ImportJob) -> ImportJobPublic:
    """The public view of a job, marked interrupted if its process died, with live progress."""
    if job.status in ACTIVE and _orphaned(job):
        job.status, job.finished_at, job.updated_at = ImportStatus.interrupted, utcnow(), utcnow()
        job.errors = json.dumps([Problem(None, "", INTERRUPTED).as_dict()], ensure_ascii=False)
        job.error_count = 1
        session.add(job)
        session.commit()
        upload_path(job_id=job.id).unlink(missing_ok=True)
    with _live_lock:
        live = _live.get(job.id) if job.status in ACTIVE else None
    return ImportJobPublic.of(job, processed=live)


def recover_interrupted(*, session: Session) -> list[ImportJobPublic]:
    """Mark the runs whose process died as interrupted and return them (nothing of theirs was written)."""
    found = []
    for job in session.exec(select(ImportJob).where(ImportJob.status.in_(ACTIVE)).order_by(ImportJob.id)).all():
        if _orphaned(job):
            found.append(_checked(session, job))
    return found


def get_job(*, session: Session, job_id: int) -> ImportJobPublic:
    """One import run, or NotFound."""
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("取込の記録が見つかりません")
    return _checked(session, job)


def list_jobs(*, session: Session, limit: int = 20) -> list[ImportJobPublic]:
    """The most recent import runs, newest first."""
    jobs = session.exec(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)).all()
    return [_checked(session, job) for job in jobs]
