"""``lifeline backup``, ``lifeline restore`` and ``lifeline keys rotate-fields`` (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.audit import cli as audit_cli
from app.core.console import fail

EXIT_RUN_AGAIN = 3  # finished, but some values are still under an older key: run again


def _loud(message: str) -> None:
    typer.secho(message, fg=typer.colors.YELLOW, bold=True)


def _record(*, done: bool = False, **kw) -> None:
    """Audit the command: before acting (refuse when that fails) and after (say it was not recorded)."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.audit.service import AuditUnavailable

    try:
        audit_cli.record_cli(**kw)
    except AuditUnavailable as exc:
        fail(
            f"Done, but the result could not be recorded in the audit log ({exc})."
            if done
            else f"Not recorded in the audit log ({exc}); nothing was done."
        )


def backup(
    out: Annotated[
        Path,
        typer.Option("--out", help="Backup file to write (a tar: manifest.json + the database dump).", dir_okay=False),
    ],
) -> None:
    """Back up the database (consistent while the service runs). The keys are NOT included: back them up apart."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.core import db
    from app.operations import backup as backups
    from app.operations.dumps import BackupError

    engine = db.get_engine()
    _record(action="backup.create", fields="database", purpose=str(out)[:400], outcome="requested")
    try:
        manifest = backups.create(engine=engine, out=out)
    except (BackupError, OSError) as exc:
        fail(f"backup failed: {exc}")
    typer.echo(
        f"wrote {out} ({manifest.engine}, schema {manifest.schema_revision}, app {manifest.app_version}, "
        f"{manifest.size:,} bytes of database, sha256 {manifest.sha256[:16]}…)"
    )
    keys = ", ".join(f"{kid} ({n:,} values)" for kid, n in sorted(manifest.field_keys_used.items())) or "none yet"
    typer.echo(f"field keys its values are sealed with: {keys}")
    _loud(
        "KEYS ARE NOT IN THIS BACKUP. Without the field key ring it cannot be read, and without the card and audit "
        "keys cards and checkpoints cannot be verified. Back up LIFELINE_DATA_DIR/keys (or your LIFELINE_FIELD_KEYS "
        "secret) separately, and store it apart from the backups."
    )


def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `lifeline backup`.", exists=True, dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace a database that already holds data.")] = False,
) -> None:
    """Restore a backup into the configured database (stop the service first), then migrate and verify the audit log."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.audit.signing import audit_keys
    from app.audit.verify import verify_database
    from app.core import db
    from app.core.crypto import KeyRingError
    from app.operations import backup as backups
    from app.operations.dumps import BackupError

    engine = db.get_engine()
    try:
        manifest = backups.restore(engine=engine, archive=file, force=force)
    except (BackupError, KeyRingError, OSError) as exc:
        fail(f"restore refused: {exc}")
    typer.echo(
        f"restored {file} (made {manifest.created_at} by version {manifest.app_version}, schema "
        f"{manifest.schema_revision}); migrated to this version's schema"
    )
    report = verify_database(engine, keys=audit_keys().public_keys())
    _record(
        action="backup.restore", fields="database", purpose=f"{file.name} made {manifest.created_at}"[:400], done=True
    )
    if report.ok:
        typer.echo(f"audit log: {report.records:,} records and {report.checkpoints:,} signed checkpoints verify")
    else:
        fail(
            f"audit log does NOT verify: {report.first_broken.describe()} "
            "(were the audit keys of LIFELINE_DATA_DIR/keys/audit "
            "restored too? see `lifeline audit verify`)"
        )


def rotate_fields(
    retire: Annotated[
        str | None,
        typer.Option("--retire", metavar="OLD_KID", help="Remove this key, only when no value uses it any more."),
    ] = None,
    new_key: Annotated[
        bool, typer.Option("--new-key", help="Make a new key even if an earlier rotation is unfinished.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Rows per transaction.", min=1, max=100_000)] = 500,
    print_new_ring: Annotated[
        bool,
        typer.Option(
            "--print-new-ring",
            help="Only print the ring plus a new active key as JSON (for keys kept in LIFELINE_FIELD_KEYS).",
        ),
    ] = False,
) -> None:
    """Make a new field encryption key and re-encrypt every medical field and insurance number with it.

    Resumable: interrupted, run it again and it continues (values already under the new key are
    skipped). The service can keep running; its workers pick up the new key ring by themselves.
    """
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app import bootstrap
    from app.core import db
    from app.core.crypto import KeyRingError, key_source
    from app.operations import fieldkeys

    source = key_source()
    try:
        if print_new_ring:
            typer.echo(source.load().with_new_key().to_json())
            return
        bootstrap.prepare_database()
        engine = db.get_engine()
        if retire:
            _retire(engine, source, retire, batch_size)
            return
        decide = True if new_key else None
        if not source.writable and (new_key or set(fieldkeys.keys_in_use(engine)) <= {source.load().active}):
            fail(
                "The field keys come from LIFELINE_FIELD_KEYS, which this command cannot change. Run "
                "`lifeline keys rotate-fields --print-new-ring`, put its output in LIFELINE_FIELD_KEYS, restart the "
                "service, then run `lifeline keys rotate-fields` again: it re-encrypts everything to the new key."
            )
        _record(action="key.rotate_fields", fields="field encryption key", outcome="requested")
        report = fieldkeys.rotate(engine, source, new_key=decide, batch_size=batch_size, progress=_progress())
    except KeyRingError as exc:
        fail(str(exc))
    typer.echo(
        ("new active field key " if report.new_key else "continued the unfinished rotation to key ")
        + report.active
        + f" ({source.describe()}; earlier keys are kept for reading)"
    )
    _summary(report)
    _record(
        action="key.rotate_fields",
        fields="field encryption key",
        purpose=f"active {report.active}, {sum(report.reencrypted.values())} values re-encrypted",
        done=True,
    )
    if report.unreadable:
        fail(
            "some values could not be opened with any key of the ring: "
            + ", ".join(f"{c} {n}" for c, n in report.unreadable.items())
        )
    if not report.complete:
        fail(
            "values were written under an older key while this ran (by a worker that had not seen the new key "
            "yet); run the command again",
            code=EXIT_RUN_AGAIN,
        )
    old = sorted(set(source.load().keys) - {report.active})
    if old:
        typer.echo(
            f"every value is sealed with {report.active}. Once backups needing the older keys are no longer "
            f"kept (or a copy of today's ring is stored with them), retire: "
            + "; ".join(f"lifeline keys rotate-fields --retire {k}" for k in old)
        )


def _retire(engine, source, kid: str, batch_size: int) -> None:
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.operations import fieldkeys

    ring = source.load()
    if kid == ring.active:
        fail(f"{kid} is the active key: run `lifeline keys rotate-fields` first, then retire it")
    if not source.writable:
        fail(
            "The field keys come from LIFELINE_FIELD_KEYS: remove the key there (after checking with this command "
            "that nothing uses it: `lifeline keys rotate-fields` reports the values per key)."
        )
    _record(action="key.retire_field", fields="field encryption key", purpose=kid, outcome="requested")
    report = fieldkeys.reencrypt(
        engine, ring, batch_size=batch_size, progress=_progress()
    )  # finish moving off it first
    in_use = fieldkeys.retire(engine, source, kid)
    _summary(report)
    if in_use.get(kid):
        fail(f"not retired: {in_use[kid]:,} values still use {kid}; run `lifeline keys rotate-fields` and try again")
    _record(action="key.retire_field", fields="field encryption key", purpose=kid, done=True)
    typer.echo(f"retired {kid}: no stored value uses it and it is removed from {source.describe()}")
    _loud(
        f"Backups made while {kid} was in use cannot be read without it: keep a copy of the earlier key ring with "
        "those backups (apart from them), or destroy both together."
    )


def _progress():
    """Prints a line per 10,000 values of a column, so a long run shows it is moving."""
    shown: dict[str, int] = {}

    def show(p) -> None:
        if p.reencrypted - shown.get(p.column, 0) >= 10_000:
            shown[p.column] = p.reencrypted
            typer.echo(f"  {p.column}: {p.reencrypted:,} / {p.total:,}")

    return show


def _summary(report) -> None:
    total = sum(report.reencrypted.values())
    typer.echo(
        f"re-encrypted {total:,} values"
        + (
            f" ({report.changed_meanwhile} changed meanwhile, left for the next run)"
            if report.changed_meanwhile
            else ""
        )
    )
    for column, n in sorted(report.reencrypted.items()):
        typer.echo(f"  {column}: {n:,}")
    per_key = ", ".join(f"{kid}: {n:,}" for kid, n in sorted(report.remaining.items())) or "no encrypted values yet"
    typer.echo(f"values per key now: {per_key}")
