"""The ``lifeline`` console command."""
from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.core.config import get_settings

app = typer.Typer(help="Tone Lifeline (利根ライフライン): registry, cards and EMS service.", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports.", no_args_is_help=True)
keys_app = typer.Typer(help="Card-signing keys (private keys stay in LIFELINE_DATA_DIR/keys/card).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(import_app, name="import")
app.add_typer(keys_app, name="keys")


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 0,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the web service (migrations run on start)."""
    import uvicorn

    from app.core import bootstrap

    settings = get_settings()
    bootstrap.prepare_database()
    uvicorn.run(
        "app.asgi:app", host=host or settings.host, port=port or settings.port, workers=workers,
        proxy_headers=True, forwarded_allow_ips="127.0.0.1", log_level="info",
    )


@app.command()
def demo(serve_after: Annotated[bool, typer.Option("--serve", help="Start the service after loading.")] = False) -> None:
    """Load obviously fictional demo data (idempotent) and print the demo sign-ins."""
    from app import demo as demo_data

    settings = get_settings()
    if settings.environment == "production":
        _fail("Refusing to load demo data with LIFELINE_ENVIRONMENT=production.")
    logins = demo_data.load()
    typer.echo(demo_data.describe(logins, settings.public_url))
    if serve_after:
        serve(host="", port=0, workers=1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema and seed the region's institutions."""
    from app.core import bootstrap

    bootstrap.prepare_database()
    typer.echo("database is up to date")


@users_app.command("add")
def users_add(
    role: Annotated[str, typer.Option(help="admin, staff, doctor, paramedic or resident.")],
    username: Annotated[str, typer.Option(help="Sign-in name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
    display_name: Annotated[str, typer.Option(help="Name shown in the UI and the audit log.")] = "",
    organisation: Annotated[str, typer.Option(help="Department, hospital or fire department.")] = "",
) -> None:
    """Create a user. The password is read from stdin (never from the command line)."""
    from pydantic import ValidationError
    from sqlmodel import Session

    from app.auth import service as auth
    from app.auth.models import Role, UserCreate
    from app.core import bootstrap, db
    from app.core.errors import DomainError

    if not password_stdin:
        _fail("Pass --password-stdin and give the password on standard input.")
    password = sys.stdin.readline().rstrip("\r\n")
    if role not in {r.value for r in Role}:
        _fail(f"Unknown role {role!r}; choose from {', '.join(r.value for r in Role)}.")
    bootstrap.prepare_database()
    try:
        data = UserCreate(username=username, password=password, role=Role(role), display_name=display_name or username, organisation=organisation)
        with Session(db.get_engine()) as session:
            user = auth.create_user(session=session, data=data)
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    except DomainError as exc:
        _fail(str(exc))
    typer.echo(f"created {user.role.value} user {user.username} (id {user.id})")


@keys_app.command("list")
def keys_list() -> None:
    """List the card-signing keys: which one signs, which still verify, since when."""
    from datetime import datetime, timezone

    from app.cards import service as cards
    from app.cards.keyset import b64url_encode

    keys = cards.keystore().list()
    if not keys:
        typer.echo("no card-signing key yet (one is created on first use, or run: lifeline keys rotate)")
    for info in keys:
        created = datetime.fromtimestamp(info.created_at, timezone.utc).isoformat(timespec="seconds")
        until = datetime.fromtimestamp(info.not_after, timezone.utc).isoformat(timespec="seconds") if info.not_after else "-"
        typer.echo(f"{b64url_encode(info.kid):<8} {'signing' if info.active else 'verify-only':<12} created {created}  verifies until {until}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Create a new signing key; earlier keys stay published so printed cards keep verifying."""
    from app.cards import service as cards
    from app.cards.keyset import b64url_encode

    info = cards.keystore().rotate()
    typer.echo(f"new signing key {b64url_encode(info.kid)}; earlier keys remain valid for verification")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
