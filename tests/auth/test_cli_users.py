"""``lifeline users add`` in a real subprocess against its own data directory."""

import os
import subprocess
import sys

from app.core.security import verify_password
from tests.auth.conftest import run


def test_users_add_reads_password_from_stdin(cli_dir):
    r = run(
        ["users", "add", "--role", "staff", "--username", "kazo-clerk", "--password-stdin"],
        cli_dir,
        "a long passphrase 2026\n",
    )
    assert r.returncode == 0, r.stderr
    assert "created staff user kazo-clerk" in r.stdout
    import sqlite3

    row = (
        sqlite3.connect(cli_dir / "lifeline.sqlite3")
        .execute("select password_hash, role from user where username='kazo-clerk'")
        .fetchone()
    )
    assert row[1] == "staff" and row[0].startswith("$argon2id$")
    assert verify_password("a long passphrase 2026", row[0])


def test_users_add_refuses_bad_input(cli_dir):
    assert (
        run(
            ["users", "add", "--role", "king", "--username", "x-user", "--password-stdin"],
            cli_dir,
            "a long passphrase 2026\n",
        ).returncode
        == 1
    )
    short = run(["users", "add", "--role", "staff", "--username", "shorty", "--password-stdin"], cli_dir, "short\n")
    assert short.returncode == 1 and "password" in short.stderr
    dup = run(
        ["users", "add", "--role", "staff", "--username", "kazo-clerk", "--password-stdin"],
        cli_dir,
        "a long passphrase 2026\n",
    )
    assert dup.returncode == 1
    assert run(["users", "add", "--role", "staff", "--username", "nostdin"], cli_dir).returncode == 1


def test_users_reset_2fa_removes_the_authenticator_and_ends_sessions(cli_dir):
    import sqlite3

    assert (
        run(
            ["users", "add", "--role", "doctor", "--username", "lost-phone", "--password-stdin"],
            cli_dir,
            "a long passphrase 2026\n",
        ).returncode
        == 0
    )
    # Set up an authenticator through the service, in the command's own data directory (its own keys).
    enrol = (
        "import pyotp; from sqlmodel import Session; import app.models; from app.core import db; from app.auth import "
        "service, totp\n"
        "with Session(db.get_engine()) as s:\n"
        "    u = service.get_user(session=s, username='lost-phone'); secret = totp.new_secret()\n"
        "    totp.confirm_enrolment(session=s, user=u, secret=secret, code=pyotp.TOTP(secret).now()); "
        "service.start_session(session=s, user=u)\n"
    )
    env = {
        **os.environ,
        "LIFELINE_DATA_DIR": str(cli_dir),
        "LIFELINE_DATABASE_URL": "",
        "LIFELINE_ENVIRONMENT": "development",
    }
    subprocess.run([sys.executable, "-c", enrol], env=env, check=True, timeout=120)
    with sqlite3.connect(cli_dir / "lifeline.sqlite3") as conn:
        user_id = conn.execute("select id from user where username='lost-phone'").fetchone()[0]
        assert conn.execute("select count(*) from recoverycode where user_id=?", (user_id,)).fetchone()[0] == 10
    r = run(["users", "reset-2fa", "--username", "lost-phone"], cli_dir)
    assert r.returncode == 0 and "1 sessions ended" in r.stdout, r.stderr
    with sqlite3.connect(cli_dir / "lifeline.sqlite3") as conn:
        assert conn.execute(
            "select totp_secret, totp_confirmed_at, totp_last_step from user where id=?", (user_id,)
        ).fetchone() == (None, None, None)
        assert conn.execute("select count(*) from recoverycode where user_id=?", (user_id,)).fetchone()[0] == 0
        assert (
            conn.execute("select revoked_at is not null from authsession where user_id=?", (user_id,)).fetchone()[0]
            == 1
        )
        audited = conn.execute(
            "select outcome, fields from auditevent where action='auth.2fa_reset' order by seq"
        ).fetchall()
    assert audited == [("requested", "user lost-phone"), ("ok", "user lost-phone")]
    assert run(["users", "reset-2fa", "--username", "nobody-here"], cli_dir).returncode == 1


def test_every_command_has_help(cli_dir):
    for args in (
        ["--help"],
        ["serve", "--help"],
        ["demo", "--help"],
        ["db", "upgrade", "--help"],
        ["users", "add", "--help"],
        ["users", "reset-2fa", "--help"],
    ):
        r = run(args, cli_dir)
        assert r.returncode == 0 and "Usage" in r.stdout, args


def test_users_deactivate_and_activate(cli_dir):
    import sqlite3

    assert (
        run(
            ["users", "add", "--role", "paramedic", "--username", "leaving-crew", "--password-stdin"],
            cli_dir,
            "a long passphrase 2026\n",
        ).returncode
        == 0
    )
    start = (
        "from sqlmodel import Session; import app.models; from app.core import db; from app.auth import service\n"
        "with Session(db.get_engine()) as s:\n"
        "    service.start_session(session=s, user=service.get_user(session=s, username='leaving-crew'), kind='api')\n"
    )
    env = {
        **os.environ,
        "LIFELINE_DATA_DIR": str(cli_dir),
        "LIFELINE_DATABASE_URL": "",
        "LIFELINE_ENVIRONMENT": "development",
    }
    subprocess.run([sys.executable, "-c", start], env=env, check=True, timeout=120)

    stopped = run(["users", "deactivate", "--username", "leaving-crew"], cli_dir)
    assert stopped.returncode == 0 and "stopped; every session ended" in stopped.stdout, stopped.stderr
    with sqlite3.connect(cli_dir / "lifeline.sqlite3") as conn:
        user_id, active = conn.execute("select id, is_active from user where username='leaving-crew'").fetchone()
        assert active == 0
        assert (
            conn.execute(
                "select count(*) from authsession where user_id=? and revoked_at is null", (user_id,)
            ).fetchone()[0]
            == 0
        )
        assert conn.execute(
            "select outcome from auditevent where action='admin.user_deactivate' order by seq"
        ).fetchall() == [("requested",), ("ok",)]
    assert run(["users", "activate", "--username", "leaving-crew"], cli_dir).returncode == 0
    with sqlite3.connect(cli_dir / "lifeline.sqlite3") as conn:
        assert conn.execute("select is_active from user where id=?", (user_id,)).fetchone()[0] == 1
    missing = run(["users", "deactivate", "--username", "nobody-here"], cli_dir)
    assert missing.returncode == 1 and "No user" in missing.stderr


def test_users_add_links_a_doctor_to_the_directory(cli_dir):
    unknown = run(
        [
            "users",
            "add",
            "--role",
            "doctor",
            "--username",
            "dr-nobody",
            "--practitioner-id",
            "999999",
            "--password-stdin",
        ],
        cli_dir,
        "a long passphrase 2026\n",
    )
    assert unknown.returncode == 1 and "No practitioner with id 999999" in unknown.stderr
    import sqlite3

    make = (
        "from sqlmodel import Session; import app.models; from app.core import db; from app.directory.models import "
        "Practitioner\n"
        "with Session(db.get_engine()) as s:\n"
        "    p = Practitioner(family_name='見本', given_name='医師'); s.add(p); s.commit(); print(p.id)\n"
    )
    env = {
        **os.environ,
        "LIFELINE_DATA_DIR": str(cli_dir),
        "LIFELINE_DATABASE_URL": "",
        "LIFELINE_ENVIRONMENT": "development",
    }
    made = subprocess.run(
        [sys.executable, "-c", make], env=env, check=True, timeout=120, capture_output=True, text=True
    )
    practitioner_id = (int(made.stdout.strip().splitlines()[-1]),)
    r = run(
        [
            "users",
            "add",
            "--role",
            "doctor",
            "--username",
            "dr-linked",
            "--practitioner-id",
            str(practitioner_id[0]),
            "--password-stdin",
        ],
        cli_dir,
        "a long passphrase 2026\n",
    )
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(cli_dir / "lifeline.sqlite3") as conn:
        assert conn.execute("select practitioner_id from user where username='dr-linked'").fetchone() == practitioner_id
