"""``lifeline print kits|cards|sheets``: the staff UI's batch printing, with a progress bar in the terminal."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlmodel import Session

from app import bootstrap
from app.core import db, i18n
from app.core.config import get_settings
from app.core.errors import DomainError
from app.printing import service as printing
from card_printing import output

EXIT_SKIPPED = 3
_NOUNS = {"kits": "households", "cards": "persons", "sheets": "persons"}


def _report_interrupted(out: Path) -> None:
    """Remove and report the partial file of an earlier run to ``out`` that did not finish (docs/crash-safety.md)."""
    if output.discard_interrupted(out):
        typer.secho(
            f"note: an earlier print to {out.name} did not finish (stopped or killed); "
            f"its partial file {output.partial_path(out).name} "
            "was removed. Kits and cards are marked printed only together with a complete PDF, so print them again.",
            fg=typer.colors.YELLOW,
            err=True,
        )


def run(kind: str, *, household: int | None, all_: bool, pending: bool, out: Path, layout: str = "cr80") -> int:
    """Print; report what was printed and what was not; return the exit code."""
    i18n.current_language.set(get_settings().default_language)
    if sum((household is not None, all_, pending)) != 1:
        typer.secho(
            "Give exactly one of --household ID, --all" + (" or --pending" if kind != "sheets" else "") + ".",
            fg=typer.colors.RED,
            err=True,
        )
        return 2
    if not out.parent.is_dir():
        typer.secho(f"{out.parent}: no such directory", fg=typer.colors.RED, err=True)
        return 1
    _report_interrupted(out)
    bootstrap.prepare_database()
    engine = db.get_engine()
    console = Console(stderr=True)
    with Session(engine) as session:
        try:
            if kind == "kits":
                ids = printing.household_ids(session=session, pending=pending, household_id=household)
            else:
                ids = printing.person_ids(
                    session=session, household_id=household, pending_cards=pending and kind == "cards"
                )
            with Progress(
                TextColumn("printing {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task(_NOUNS[kind], total=len(ids))
                summary = printing.run(
                    kind=kind,
                    engine=engine,
                    actor=printing.CLI_ACTOR,
                    audit=printing.cli_audit(engine=engine),
                    out=out,
                    ids=ids,
                    layout=layout,
                    progress=lambda done, total: bar.update(task, completed=done),
                )
        except DomainError as exc:
            typer.secho(exc.translated(), fg=typer.colors.RED, err=True)
            return 1
    counts = [
        f"{summary.households} households" if kind == "kits" else "",
        f"{summary.persons} persons",
        f"{summary.cards} cards" if kind == "cards" else "",
        f"{summary.pages} pages",
    ]
    typer.echo(f"wrote {out}: " + ", ".join(c for c in counts if c))
    if kind == "kits":
        typer.echo("each household's letter carries a new resident access code; earlier codes no longer work")
    for reason in summary.skipped:
        typer.secho(f"not printed: {reason}", fg=typer.colors.YELLOW, err=True)
    return EXIT_SKIPPED if summary.skipped else 0
