"""``lifeline import households FILE``: the staff UI's import, with a progress bar in the terminal."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlmodel import Session

from app import bootstrap
from app.core import db, i18n
from app.core.config import get_settings
from app.core.models import Actor, Source
from app.imports import service
from app.imports.models import ImportStatus

_PHASES = {"validating": "checking ", "running": "importing"}


def _where(problem: dict) -> str:
    if problem.get("line") is None:
        return "file"
    return f"line {problem['line']}, {problem['column']}" if problem.get("column") else f"line {problem['line']}"


def _text(problem: dict) -> str:
    return i18n.gettext(problem["message"], **(problem.get("params") or {}))


def run(path: Path, *, dry_run: bool) -> int:
    """Import ``path``; print problems and a summary; return the exit code (1 on any problem)."""
    settings = get_settings()
    i18n.current_language.set(settings.default_language)
    if not path.is_file():
        typer.secho(f"{path}: no such file", fg=typer.colors.RED, err=True)
        return 1
    if path.stat().st_size > settings.max_upload_bytes:
        typer.secho(
            f"{path}: larger than the limit of {settings.max_upload_bytes // (1024 * 1024)} MB "
            "(LIFELINE_MAX_UPLOAD_BYTES); split the file",
            fg=typer.colors.RED,
            err=True,
        )
        return 1
    data = path.read_bytes()
    bootstrap.prepare_database()
    engine = db.get_engine()
    actor = Actor(user_id=None, name=f"lifeline import ({getpass.getuser()})"[:100], source=Source.imported)
    with Session(engine) as session:
        for stopped in service.recover_interrupted(session=session):
            typer.secho(
                f"note: import job {stopped.id} ({stopped.filename}) was interrupted (the process stopped); "
                "nothing of it was written. Importing the same file again is safe.",
                fg=typer.colors.YELLOW,
                err=True,
            )
    job = service.create_job(engine=engine, actor=actor, filename=path.name, dry_run=dry_run)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def on_progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        job = service.run_import(engine=engine, job_id=job.id, data=data, actor=actor, on_progress=on_progress)
    for notice in json.loads(job.notices):
        typer.echo(f"note: {_where(notice)}: {_text(notice)}", err=True)
    for problem in json.loads(job.errors):
        typer.secho(f"{_where(problem)}: {_text(problem)}", fg=typer.colors.RED, err=True)
    if job.status != ImportStatus.done:
        typer.echo(f"{job.error_count} error(s) in {path.name}; nothing was written (job {job.id})")
        return 1
    counts = (
        f"{job.created} created, {job.updated} updated, {job.unchanged} unchanged "
        f"(households: {job.households_created} created, {job.households_updated} updated)"
    )
    if dry_run:
        typer.echo(
            f"dry run of {path.name}, {job.total_rows} rows: would be {counts}; nothing was written (job {job.id})"
        )
    else:
        typer.echo(f"imported {path.name}, {job.total_rows} rows: {counts} (job {job.id})")
    return 0
