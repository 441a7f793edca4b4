"""``lifeline audit …``: verify the chain, sign a checkpoint, archive a closed segment."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Audit log: verify the hash chain and signed checkpoints, archive closed segments.", no_args_is_help=True
)


def record_cli(*, action: str, fields: str = "", purpose: str = "", outcome: str = "ok") -> None:
    """Audit something done from the command line (who: the operating-system account)."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.audit import service as audit
    from app.core import db

    audit.append(
        engine=db.get_engine(),
        action=action,
        actor_username=f"cli:{getpass.getuser()}",
        actor_role="cli",
        device=socket.gethostname(),
        fields=fields,
        purpose=purpose,
        outcome=outcome,
    )


def _print_report(report) -> None:
    typer.echo(
        f"audit log ({report.source}): {report.records:,} records"
        + (f" (seq {report.first_seq:,}–{report.last_seq:,})" if report.records else "")
        + f", {report.checkpoints:,} signed checkpoints; checked in {report.seconds:.2f} s"
        + f" ({report.rate:,.0f} records/s; {report.cpu_seconds:.2f} s CPU)"
    )
    if report.ok:
        typer.echo("OK: every record matches its hash and links to the one before; head and checkpoints agree")
        return
    first = report.first_broken
    typer.secho(f"BROKEN: first broken record: {first.describe()}", fg=typer.colors.RED, err=True)
    for problem in sorted(report.problems, key=lambda p: p.seq)[:20]:
        if problem is not first:
            typer.secho(f"  {problem.describe()}", err=True)
    if report.problem_count > 20:
        typer.secho(f"  … {report.problem_count - 20:,} more", err=True)


@app.command()
def verify(
    archive: Annotated[
        Path | None,
        typer.Option(help="Verify an exported segment file instead of the database.", exists=True, dir_okay=False),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option(
            help="Directory holding the checkpoint public keys (index.json); default: LIFELINE_DATA_DIR/keys/audit."
        ),
    ] = None,
    record: Annotated[
        bool, typer.Option(help="Append the result to the audit log (off for read-only replicas).")
    ] = True,
) -> None:
    """Recompute every record's hash, follow every link, check the signed checkpoints; exit 1 on any break."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from sqlalchemy.exc import SQLAlchemyError

    from app.audit import archive as archives
    from app.audit.signing import AuditKeys, audit_keys
    from app.audit.verify import verify_database
    from app.core import db
    from app.core.errors import DomainError

    public = (AuditKeys(keys) if keys else audit_keys()).public_keys()
    try:
        report = (
            archives.verify_archive(archive, keys=public) if archive else verify_database(db.get_engine(), keys=public)
        )
    except (DomainError, SQLAlchemyError, ValueError, KeyError, OSError) as exc:
        typer.secho(f"cannot verify: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    _print_report(report)
    if record and archive is None:
        first = report.first_broken
        record_cli(
            action="audit.verify",
            fields=f"records={report.records}",
            purpose=first.describe()[:400] if first else "",
            outcome="ok" if report.ok else "broken",
        )
    if not report.ok:
        raise typer.Exit(code=1)


@app.command()
def checkpoint() -> None:
    """Sign the chain's current tip now, and print it (keep a copy away from the server)."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.audit import service as audit
    from app.core import db
    from app.core.errors import DomainError

    try:
        cp = audit.checkpoint(engine=db.get_engine())
    except DomainError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    typer.echo(
        f"checkpoint seq {cp.seq} hash {cp.hash} kid {cp.kid} "
        f"signed_at {cp.signed_at.isoformat()} signature {cp.signature}"
    )


@app.command()
def export(
    file: Annotated[Path, typer.Argument(help="Segment file to write (JSON lines; .gz compresses).", dir_okay=False)],
    until: Annotated[
        int | None, typer.Option("--until", help="Last seq of the segment: a checkpoint (default: the latest).")
    ] = None,
    from_seq: Annotated[
        int, typer.Option("--from", help="First seq: 1, or the seq after an earlier segment's end.")
    ] = 1,
) -> None:
    """Archive a closed segment (from one checkpoint to another) to a file that verifies on its own."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.audit import archive as archives
    from app.audit.signing import audit_keys
    from app.core import db
    from app.core.errors import DomainError

    try:
        header = archives.export_segment(engine=db.get_engine(), path=file, until_seq=until, from_seq=from_seq)
    except DomainError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    record_cli(
        action="audit.archive", fields=f"seq {header['from_seq']}-{header['until_seq']}", purpose=str(file)[:400]
    )
    report = archives.verify_archive(file, keys=audit_keys().public_keys())
    typer.echo(f"wrote seq {header['from_seq']:,}–{header['until_seq']:,} to {file}")
    _print_report(report)
    if not report.ok:
        raise typer.Exit(code=1)
