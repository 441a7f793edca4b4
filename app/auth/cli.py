"""``lifeline users …``: accounts from the command line, as /admin/users manages them; every change audited."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.audit import cli as audit_cli
from app.core.console import english, fail

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command("add")
def users_add(
    role: Annotated[str, typer.Option(help="admin, staff, doctor, paramedic or resident.")],
    username: Annotated[str, typer.Option(help="Sign-in name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    display_name: Annotated[str, typer.Option(help="Name shown in the UI and the audit log.")] = "",
    organisation: Annotated[str, typer.Option(help="Department, hospital or fire department.")] = "",
    practitioner_id: Annotated[
        int | None, typer.Option(help="A doctor's id in the directory: decides their patients.")
    ] = None,
) -> None:
    """Create a user. The password is read from stdin (never from the command line).

    /admin/users does the same with a generated initial password.
    """
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from pydantic import ValidationError
    from sqlmodel import Session

    from app import bootstrap
    from app.auth import service as auth
    from app.auth.models import Role, UserCreate
    from app.core import db
    from app.core.errors import DomainError
    from app.directory.models import Practitioner

    if not password_stdin:
        fail("Pass --password-stdin and give the password on standard input.")
    password = sys.stdin.readline().rstrip("\r\n")
    if role not in {r.value for r in Role}:
        fail(f"Unknown role {role!r}; choose from {', '.join(r.value for r in Role)}.")
    bootstrap.prepare_database()
    try:
        data = UserCreate(
            username=username,
            password=password,
            role=Role(role),
            display_name=display_name or username,
            organisation=organisation,
            practitioner_id=practitioner_id,
        )
        with Session(db.get_engine()) as session:
            if practitioner_id is not None and session.get(Practitioner, practitioner_id) is None:
                fail(f"No practitioner with id {practitioner_id} in the directory.")
            user = auth.create_user(session=session, data=data)
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    except DomainError as exc:
        fail(english(exc))
    typer.echo(f"created {user.role.value} user {user.username} (id {user.id})")


@app.command("reset-2fa")
def users_reset_2fa(username: Annotated[str, typer.Option(help="Sign-in name of the account.")]) -> None:
    """Remove a user's authenticator, recovery codes and passkeys (lost phone) and end their sessions; audited.

    Admins, staff and doctors set up a new authenticator at their next sign-in; residents sign in
    with their password alone until they turn two-factor sign-in on again.
    """
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.auth import totp

    ended = _change_account(
        username, "auth.2fa_reset", lambda session, user: f"{totp.reset(session=session, user=user)} sessions ended"
    )
    typer.echo(f"second factor of {username} removed; {ended}")


@app.command("reset-password")
def users_reset_password(username: Annotated[str, typer.Option(help="Sign-in name of the account.")]) -> None:
    """Issue a new initial password for a forgotten one (admins, staff, doctors, crew members); audited.

    The same as パスワード再発行 on /admin/users, and the way back in for the last administrator:
    the old password stops working, every session ends, and the person must choose their own
    password at the next sign-in. The new password is printed once; hand it over in person.
    """
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.auth import accounts
    from app.auth.models import Role

    issued: list[str] = []

    def change(session, user) -> str:
        if Role(user.role) not in accounts.ROLES:
            fail(
                f"{username} is a {Role(user.role).value} account: "
                "residents get a new letter code, network clients a new secret."
            )
        issued.append(accounts.reissue_password(session=session, user=user))
        return "new initial password issued"  # never the password itself: this goes to the audit log

    _change_account(username, "admin.user_password_reset", change)
    typer.echo(
        f"new initial password for {username} (shown once; it must be changed at the next sign-in):\n{issued[0]}"
    )


@app.command("deactivate")
def users_deactivate(username: Annotated[str, typer.Option(help="Sign-in name of the account.")]) -> None:
    """Stop an account (someone leaving, a suspected compromise): every session and API token ends now; audited.

    The same as 停止 on /admin/users, for any role (residents and network clients included).
    """
    _set_active(username, active=False)


@app.command("activate")
def users_activate(username: Annotated[str, typer.Option(help="Sign-in name of the account.")]) -> None:
    """Let a stopped account sign in again (its lock-out count cleared); audited."""
    _set_active(username, active=True)


def _set_active(username: str, *, active: bool) -> None:
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from app.auth import accounts

    def change(session, user) -> str:
        accounts.set_active(session=session, user=user, active=active)
        return ""

    _change_account(username, "admin.user_activate" if active else "admin.user_deactivate", change)
    typer.echo(f"{username} {'may sign in again' if active else 'stopped; every session ended'}")


def _change_account(username: str, action: str, change) -> str:
    """Find the account, record the change as requested, make it (``change(session, user)`` returns
    a note for the record), record it done; returns the note.

    Recorded first: a change that cannot be audited does not happen.
    """
    # Imported when the command runs, so that `lifeline --help` starts fast.
    from sqlmodel import Session

    from app import bootstrap
    from app.audit.service import AuditUnavailable
    from app.auth import service as auth
    from app.core import db

    bootstrap.prepare_database()
    with Session(db.get_engine()) as session:
        user = auth.get_user(session=session, username=username)
        if user is None:
            fail(f"No user {username!r}.")
        try:
            audit_cli.record_cli(action=action, fields=f"user {user.username}", outcome="requested")
        except AuditUnavailable as exc:
            fail(f"Not recorded in the audit log ({exc}); nothing was changed.")
        note = change(session, user)
        audit_cli.record_cli(action=action, fields=f"user {user.username}", purpose=note)
        return note
