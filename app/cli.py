"""The ``lifeline`` console command."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer

from app.audit import cli as audit_cli
from app.auth import cli as users_cli
from app.core.config import get_settings
from app.core.console import english, fail
from app.operations import cli as ops_cli

app = typer.Typer(
    help="Tone Lifeline (利根ライフライン): registry, cards and EMS service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
keys_app = typer.Typer(
    help="Card-signing keys (private keys stay in LIFELINE_DATA_DIR/keys/card) and field encryption keys.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(users_cli.app, name="users")
app.add_typer(import_app, name="import")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_cli.app, name="audit")
print_app = typer.Typer(
    help="Print kits, sheets and cards to a PDF (see docs/printing.md). Exit code 3: printed, but some were left out "
    "(listed).",
    no_args_is_help=True,
)
app.add_typer(print_app, name="print")
network_app = typer.Typer(
    help="Regional network: FHIR API clients of hospitals and clinics (docs/fhir.md).", no_args_is_help=True
)
app.add_typer(network_app, name="network")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the web service (migrations run on start)."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    import uvicorn

    from app import bootstrap
    from app.core import logs

    settings = get_settings()
    logs.configure(settings)
    bootstrap.prepare_database()
    uvicorn.run(
        "app.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        # Our logging in every worker; access lines come from app.core.logs (route templates, no query strings).
        log_config=logs.config(settings),
        access_log=False,
    )


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve", help="Start the service after loading.")] = False,
) -> None:
    """Load obviously fictional demo data (idempotent) and print the demo sign-ins."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app import demo as demo_data

    settings = get_settings()
    if settings.environment == "production":
        fail("Refusing to load demo data with LIFELINE_ENVIRONMENT=production.")
    logins = demo_data.load()
    typer.echo(demo_data.describe(logins, settings.public_url))
    if serve_after:
        serve(host="", port=0, workers=1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema and seed the region's institutions."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app import bootstrap

    bootstrap.prepare_database()
    typer.echo("database is up to date")


@keys_app.command("list")
def keys_list() -> None:
    """List the card-signing keys: which one signs, which still verify, since when; and active cards that need
    replacing because their signature is high-s."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from datetime import datetime

    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session

    from app.cards import service as cards
    from app.cards.keyset import b64url_encode
    from app.core import db

    keys = cards.keystore().list()
    if not keys:
        typer.echo("no card-signing key yet (one is created on first use, or run: lifeline keys rotate)")
    for info in keys:
        created = datetime.fromtimestamp(info.created_at, UTC).isoformat(timespec="seconds")
        until = datetime.fromtimestamp(info.not_after, UTC).isoformat(timespec="seconds") if info.not_after else "-"
        typer.echo(
            f"{b64url_encode(info.kid):<8} {'signing' if info.active else 'verify-only':<12} "
            f"created {created}  verifies until {until}"
        )
    try:
        with Session(db.get_engine()) as session:
            high_s = cards.active_high_s(session=session)
    except SQLAlchemyError as exc:  # the keys are files: still listed when the database is down or not migrated
        typer.echo(f"active cards not checked for high-s signatures: {type(exc).__name__}", err=True)
        return
    if high_s:
        typer.echo(cards.high_s_notice(high_s))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Create a new signing key; earlier keys stay published so printed cards keep verifying."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app import bootstrap
    from app.audit.service import AuditUnavailable
    from app.cards import service as cards
    from app.cards.keyset import b64url_encode

    bootstrap.prepare_database()
    try:  # recorded before and after: a rotation that cannot be audited does not happen
        audit_cli.record_cli(action="key.rotate", fields="card signing key", outcome="requested")
        info = cards.keystore().rotate()
        audit_cli.record_cli(
            action="key.rotate", fields="card signing key", purpose=f"new kid {b64url_encode(info.kid)}"
        )
    except AuditUnavailable as exc:
        fail(
            f"Not recorded in the audit log ({exc}); "
            "nothing was rotated unless a new key is listed by `lifeline keys list`."
        )
    typer.echo(f"new signing key {b64url_encode(info.kid)}; earlier keys remain valid for verification")


_KID = typer.Option("--kid", help="The key, as `lifeline keys list` shows it.")
_HIGH_S = typer.Option(
    "--high-s", help="Instead of --kid: the cards whose signature is high-s (signed before the low-s rule)."
)


@keys_app.command("reissue-cards")
def keys_reissue_cards(kid: Annotated[str, _KID] = "", high_s: Annotated[bool, _HIGH_S] = False) -> None:
    """Replace every active card a key that may have leaked signed (--kid, rotate first), or every active card
    signed before the low-s rule that now scans as forged (--high-s; docs/operations.md, section 7).

    The new cards are signed by the active key; the old ones are revoked at once, and the new ones
    wait to be printed (`lifeline print cards --pending`). Interrupted, it continues where it
    stopped. Audited.
    """
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from sqlmodel import Session

    from app import bootstrap
    from app.audit.service import AuditUnavailable
    from app.cards import service as cards
    from app.core import db
    from app.core.errors import DomainError
    from app.core.models import Actor, Source

    if bool(kid) == high_s:
        fail("Give exactly one of --kid KID (the cards a leaked key signed) and --high-s (the cards signed high-s).")
    which = "cards with a high-s signature" if high_s else f"cards signed by {kid}"
    bootstrap.prepare_database()
    try:
        audit_cli.record_cli(action="card.reissue_all", fields=which, outcome="requested")
    except AuditUnavailable as exc:
        fail(f"Not recorded in the audit log ({exc}); nothing was changed.")
    actor = Actor(user_id=None, name="lifeline keys reissue-cards", source=Source.staff)
    with Session(db.get_engine()) as session:
        try:
            if high_s:
                replaced = cards.reissue_high_s(session=session, actor=actor)
            else:
                replaced = cards.reissue_signed_by(session=session, actor=actor, kid=kid)
        except DomainError as exc:
            fail(english(exc))
    audit_cli.record_cli(action="card.reissue_all", fields=which, purpose=f"{replaced} cards reissued")
    typer.echo(f"{replaced} {which} reissued; print them: lifeline print cards --pending")


@keys_app.command("retire")
def keys_retire(kid: Annotated[str, _KID]) -> None:
    """Stop trusting a card-signing key that may have leaked: from now on cards it signed scan as expired.

    Refuses the signing key (rotate first) and while active cards signed by it remain (reissue them
    first: `lifeline keys reissue-cards`). Audited.
    """
    # Imported when the command runs, so that `lifeline --help` starts fast.
    import time

    from sqlmodel import Session

    from app import bootstrap
    from app.audit.service import AuditUnavailable
    from app.cards import service as cards
    from app.cards.keyset import b64url_decode
    from app.core import db

    bootstrap.prepare_database()
    store = cards.keystore()
    try:
        info = next(k for k in store.list() if k.kid == b64url_decode(kid))
    except (StopIteration, ValueError):
        fail(f"No card-signing key {kid!r}; see `lifeline keys list`.")
    if info.active:
        fail(f"{kid} is the signing key: rotate first (lifeline keys rotate), then reissue its cards.")
    with Session(db.get_engine()) as session:
        remaining = cards.active_signed_by(session=session, kid=kid)
    if remaining:
        fail(f"{remaining} active cards are signed by {kid}: run `lifeline keys reissue-cards --kid {kid}` first.")
    try:  # recorded before and after: a change that cannot be audited does not happen
        audit_cli.record_cli(action="key.retire", fields=f"card signing key {kid}", outcome="requested")
        store.set_not_after(kid=info.kid, not_after=int(time.time()))
        audit_cli.record_cli(action="key.retire", fields=f"card signing key {kid}")
    except AuditUnavailable as exc:
        fail(f"Not recorded in the audit log ({exc}); see `lifeline keys list` for the key's state.")
    typer.echo(f"{kid} retired: cards it signed now scan as expired (offline apps at their next key update)")


@import_app.command("households")
def import_households(
    file: Annotated[
        Path,
        typer.Argument(help="CSV from the resident registry: UTF-8 or Shift_JIS (CP932); see docs/import-format.md."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row and report what would change; write nothing.")
    ] = False,
) -> None:
    """Import households and their members; all-or-nothing, and re-running the same file changes nothing."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.imports import cli as import_cli

    raise typer.Exit(code=import_cli.run(file, dry_run=dry_run))


_HOUSEHOLD = typer.Option("--household", help="One household (its id in the staff UI).")
_ALL = typer.Option("--all", help="Every household / every person at home with consent in force.")
_OUT = typer.Option("--out", help="PDF to write; it appears only when everything worked.")


@print_app.command("kits")
def print_kits(
    out: Annotated[Path, _OUT],
    household: Annotated[int | None, _HOUSEHOLD] = None,
    all_: Annotated[bool, _ALL] = False,
    pending: Annotated[
        bool, typer.Option("--pending", help="Elderly-only households whose kit is neither printed nor delivered.")
    ] = False,
) -> None:
    """救急医療情報キット: letter with a new resident access code, a sheet per member, stickers; marks kits printed."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.printing import cli as print_cli

    raise typer.Exit(code=print_cli.run("kits", household=household, all_=all_, pending=pending, out=out))


@print_app.command("cards")
def print_cards(
    out: Annotated[Path, _OUT],
    household: Annotated[int | None, _HOUSEHOLD] = None,
    all_: Annotated[bool, _ALL] = False,
    pending: Annotated[bool, typer.Option("--pending", help="Persons whose current card is not printed yet.")] = False,
    layout: Annotated[
        str, typer.Option("--layout", help="cr80: one card per page for card printers; a4: 10-up business-card stock.")
    ] = "cr80",
) -> None:
    """かかりつけ医カード (issued on the way for persons who have none); marks the cards printed."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.printing import cli as print_cli

    raise typer.Exit(
        code=print_cli.run("cards", household=household, all_=all_, pending=pending, out=out, layout=layout)
    )


@print_app.command("sheets")
def print_sheets(
    out: Annotated[Path, _OUT],
    household: Annotated[int | None, _HOUSEHOLD] = None,
    all_: Annotated[bool, _ALL] = False,
) -> None:
    """救急医療情報シート, one or more A4 pages per person."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.printing import cli as print_cli

    raise typer.Exit(code=print_cli.run("sheets", household=household, all_=all_, pending=False, out=out))


@network_app.command("add-client")
def network_add_client(
    institution: Annotated[str, typer.Option(help="The institution's id or exact name in the directory.")],
    scopes: Annotated[str, typer.Option(help="Space-separated SMART system scopes.")] = "system/*.read system/*.write",
    json_output: Annotated[bool, typer.Option("--json", help="Print client_id and client_secret as JSON.")] = False,
) -> None:
    """Register an institution's system; prints its client_id and client_secret (shown once)."""
    # Imported when the command runs, so that `lifeline --help` starts fast.
    import json

    from sqlmodel import Session, select

    from app import bootstrap
    from app.core import db
    from app.core.errors import DomainError
    from app.directory.models import Institution
    from app.network import clients

    bootstrap.prepare_database()
    with Session(db.get_engine()) as session:
        found = (
            session.get(Institution, int(institution))
            if institution.isdigit()
            else session.exec(select(Institution).where(Institution.name == institution)).first()
        )
        if found is None:
            fail(f"No institution {institution!r} in the directory.")
        try:
            audit_cli.record_cli(action="network.add_client", fields=f"institution {found.id}", outcome="requested")
            client, secret = clients.create(
                session=session, institution_id=found.id, created_by="lifeline network add-client", scopes=scopes
            )
        except DomainError as exc:
            fail(str(exc))
        if json_output:
            typer.echo(
                json.dumps(
                    {
                        "client_id": client.client_id,
                        "client_secret": secret,
                        "institution_id": found.id,
                        "scopes": client.scopes,
                    }
                )
            )
        else:
            typer.echo(
                f"client_id:     {client.client_id}\nclient_secret: {secret}\n"
                f"institution:   {found.name}\nscopes:        {client.scopes}\n"
                "(the secret is shown only now)"
            )


# Operations (app/operations, docs/operations.md): backups and field key rotation.
app.command("backup")(ops_cli.backup)
app.command("restore")(ops_cli.restore)
keys_app.command("rotate-fields")(ops_cli.rotate_fields)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
