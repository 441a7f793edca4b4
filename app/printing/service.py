"""Printing for staff and the CLI: what to print, who is recorded as printing it, and background jobs.

The layouts and the streaming batches are in ``card_printing``; here are the choices that
depend on the application: which households and persons a batch covers, how each printed
person is written to the audit log, and print jobs that run after the request, with their
state in a JSON file next to the PDF in the data directory (so every worker process of the
server can show the progress). Job files are removed after a day: they hold medical data.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import exists
from sqlmodel import Session, select

from app.audit import service as audit
from app.auth.access_log import record_access
from app.cards.models import Card, CardStatus
from app.core.config import get_settings
from app.core.errors import DomainError, Invalid, NotFound
from app.core.models import Actor, Source
from app.households import service as households
from app.households.models import Household
from app.persons.models import Consent, Person, PersonStatus
from app.printing import batch
from card_printing.data import PersonData

CLI_ACTOR = Actor(user_id=None, name="一括印刷", source=Source.staff)
KINDS = ("kits", "cards", "sheets")
JOB_TTL_SECONDS = 24 * 3600
_PROCESS = secrets.token_hex(8)  # tells jobs of this process from those of a stopped one


def _consented():
    return exists().where(Consent.person_id == Person.id, Consent.withdrawn_on.is_(None))


def household_ids(*, session: Session, pending: bool = False, household_id: int | None = None) -> list[int]:
    """Households to get a kit: one, all with a member to print, or pending ones (elderly-only, kit not yet out)."""
    if household_id is not None:
        if session.get(Household, household_id) is None:
            raise NotFound("世帯が見つかりません")
        return [household_id]
    if pending:
        # The kit worklist of the households domain, less the kits already printed.
        return sorted(
            h.id
            for h in households.list_households(session=session, pending_kit=True, limit=10**9)
            if h.kit_printed_at is None
        )
    member = exists().where(Person.household_id == Household.id, Person.status == PersonStatus.active, _consented())
    return list(session.exec(select(Household.id).where(member).order_by(Household.id)))


def person_ids(*, session: Session, household_id: int | None = None, pending_cards: bool = False) -> list[int]:
    """Persons at home with consent in force, of one household or all; ``pending_cards``: card not printed yet."""
    stmt = select(Person.id).where(Person.status == PersonStatus.active, _consented())
    if household_id is not None:
        if session.get(Household, household_id) is None:
            raise NotFound("世帯が見つかりません")
        stmt = stmt.where(Person.household_id == household_id)
    if pending_cards:
        printed = exists().where(
            Card.person_id == Person.id, Card.status == CardStatus.active, Card.printed_at.is_not(None)
        )
        stmt = stmt.where(~printed)
    return list(session.exec(stmt.order_by(Person.household_id, Person.birth_date, Person.id)))


def web_audit(*, engine, request, user) -> batch.Audit:
    """Record each printed person as accessed by the signed-in clerk (a failure stops the print)."""

    def record(action: str, people: Sequence[PersonData]) -> None:
        # A clerk's print from a page covers one household or person: one record each is enough.
        for person in people:
            record_access(
                engine=engine,
                request=request,
                user=user,
                action=action,
                person=person,
                fields=action.split(".")[1],
                purpose="print",
            )

    return record


def background_audit(
    *, engine, user_id: int | None, username: str, role: str, organisation: str, device: str
) -> batch.Audit:
    """Audit recorder for a run without a request (CLI, background job): one transaction per chunk of persons."""

    def record(action: str, people: Sequence[PersonData]) -> None:
        events = [
            dict(
                action=action,
                actor_user_id=user_id,
                actor_username=username[:64],
                actor_role=role,
                organisation=organisation,
                device=device[:100],
                person_id=person.id,
                household_id=person.household_id,
                fields=action.split(".")[1],
                purpose="print",
                incident="",
                emergency=False,
                outcome="ok",
                ip="",
            )
            for person in people
        ]
        try:
            audit.append_many(engine=engine, events=events)
        except audit.AuditUnavailable:
            raise DomainError(
                "アクセス記録を書き込めないため、印刷を中止しました。管理者にお知らせください。"
            ) from None

    return record


def cli_audit(*, engine) -> batch.Audit:
    return background_audit(
        engine=engine,
        user_id=None,
        username=CLI_ACTOR.name,
        role="staff",
        organisation="",
        device=f"cli {getpass.getuser()}@{socket.gethostname()}",
    )


def run(
    *, kind: str, engine, actor: Actor, audit: batch.Audit, out, ids: list[int], layout: str = "cr80", progress=None
) -> batch.Summary:
    """Print ``ids`` (households for kits, persons otherwise) into ``out``."""
    if not ids:
        raise Invalid("印刷の対象がありません")
    if kind == "kits":
        return batch.print_kits(engine=engine, actor=actor, household_ids=ids, out=out, audit=audit, progress=progress)
    if kind == "sheets":
        return batch.print_sheets(engine=engine, actor=actor, person_ids=ids, out=out, audit=audit, progress=progress)
    if kind == "cards":
        return batch.print_cards(
            engine=engine, actor=actor, person_ids=ids, out=out, audit=audit, layout=layout, progress=progress
        )
    raise Invalid("印刷の種類が正しくありません")


# --- background jobs -------------------------------------------------------------------------


def jobs_dir() -> Path:
    path = get_settings().resolved_data_dir / "print-jobs"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _write(job: dict) -> dict:
    path = jobs_dir() / f"{job['id']}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(job, ensure_ascii=False))
    os.replace(tmp, path)
    return job


def _cleanup() -> None:
    limit = time.time() - JOB_TTL_SECONDS
    for path in jobs_dir().iterdir():
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def create_job(*, kind: str, scope: str, layout: str, user) -> dict:
    """Register a queued job and return it (its id is the next free number)."""
    if kind not in ("kits", "cards") or scope not in ("pending", "all") or layout not in ("cr80", "a4"):
        raise Invalid("印刷の指定が正しくありません")
    _cleanup()
    directory = jobs_dir()
    while True:
        number = max((int(p.stem) for p in directory.glob("*.json") if p.stem.isdigit()), default=0) + 1
        try:
            os.close(os.open(directory / f"{number}.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            break
        except FileExistsError:
            continue  # another worker took that number
    return _write(
        {
            "id": number,
            "kind": kind,
            "scope": scope,
            "layout": layout,
            "state": "queued",
            "done": 0,
            "total": 0,
            "user": user.display_name or user.username,
            "created_at": time.time(),
            "process": _PROCESS,
            "pid": os.getpid(),
            "summary": None,
            "error": "",
        }
    )


def get_job(*, job_id: int) -> dict:
    """The job's state; a job whose process has gone is reported as interrupted."""
    path = jobs_dir() / f"{job_id}.json"
    try:
        job = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        raise NotFound("印刷ジョブが見つかりません") from None
    if job["state"] in ("queued", "running") and job["process"] != _PROCESS and not _alive(job["pid"]):
        job.update(state="failed", error="サーバーが止まったため、印刷が中断されました。もう一度実行してください。")
    return job


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_jobs() -> list[dict]:
    ids = sorted((int(p.stem) for p in jobs_dir().glob("*.json") if p.stem.isdigit()), reverse=True)[:10]
    return [get_job(job_id=i) for i in ids]


def job_pdf(*, job_id: int) -> Path:
    job = get_job(job_id=job_id)
    path = jobs_dir() / f"{job_id}.pdf"
    if job["state"] != "done" or not path.exists():
        raise NotFound("印刷ファイルがありません（期限切れか、まだできていません）")
    return path


def run_job(*, engine, job_id: int, user) -> None:
    """Run a queued job to completion (called after the response, in a worker thread)."""
    job = get_job(job_id=job_id)
    actor = Actor(user_id=user.id, name=user.display_name or user.username, source=Source.staff, role=user.role)
    recorder = background_audit(
        engine=engine,
        user_id=user.id,
        username=user.username,
        role=str(getattr(user.role, "value", user.role)),
        organisation=user.organisation,
        device=f"print job {job_id}",
    )
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 0.5 or done == total:
            last[0] = time.monotonic()
            _write(job | {"state": "running", "done": done, "total": total})

    try:
        pending = job["scope"] == "pending"
        with Session(engine, join_transaction_mode="create_savepoint") as session:
            ids = (
                household_ids(session=session, pending=pending)
                if job["kind"] == "kits"
                else person_ids(session=session, pending_cards=pending)
            )
        _write(job | {"state": "running", "total": len(ids)})
        summary = run(
            kind=job["kind"],
            engine=engine,
            actor=actor,
            audit=recorder,
            out=jobs_dir() / f"{job_id}.pdf",
            ids=ids,
            layout=job["layout"],
            progress=progress,
        )
        _write(
            job
            | {
                "state": "done",
                "done": len(ids),
                "total": len(ids),
                "summary": asdict(summary),
                "finished_at": time.time(),
            }
        )
    except DomainError as exc:
        _write(job | {"state": "failed", "error": exc.translated(), "finished_at": time.time()})
    except Exception:  # noqa: BLE001 - recorded for the clerk, and the trace goes to the log
        _write(
            job
            | {
                "state": "failed",
                "error": "印刷中にエラーが起きました。管理者にお知らせください。",
                "finished_at": time.time(),
            }
        )
        raise
