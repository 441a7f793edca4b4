"""Copying a database out and back in, with the tools each engine provides for it.

SQLite: the online backup API (``sqlite3.Connection.backup``) gives a consistent copy while the
service keeps writing (WAL readers never block writers), and copies back into the live file
under SQLite's own locks, so no -wal/-shm file is ever left behind inconsistent.
PostgreSQL: ``pg_dump -Fc`` and ``pg_restore --clean --if-exists --single-transaction``, which
must be at least as new as the server (an older pg_dump refuses or, worse, misses objects).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine


class BackupError(Exception):
    """A backup or restore cannot be made; the message (for operators, in English) says what to do."""


# --- SQLite --------------------------------------------------------------------------------------


def sqlite_path(engine: Engine) -> Path:
    return Path(engine.url.database).resolve()


def sqlite_copy_out(engine: Engine, dest: Path) -> None:
    """A consistent copy of the live database file into ``dest`` (a new self-contained file)."""
    src = sqlite3.connect(f"file:{sqlite_path(engine)}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)  # all pages in one step: one read snapshot, writers carry on meanwhile
        dst.execute("PRAGMA journal_mode=DELETE")  # a single file, no -wal beside it
    finally:
        dst.close()
        src.close()


def sqlite_copy_in(engine: Engine, source: Path) -> None:
    """Replace the live database's content with ``source``, page by page, in one locked step."""
    engine.dispose()  # our own pooled connections must not hold a read snapshot meanwhile
    target = sqlite_path(engine)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    except sqlite3.OperationalError as exc:
        raise BackupError(f"cannot write {target}: {exc} (stop the service before restoring)") from None
    finally:
        dst.close()
        src.close()


# --- PostgreSQL ----------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} was not found on PATH. Install the PostgreSQL client tools of the server's major "
            f"version or newer (Debian: apt-get install postgresql-client-<major>)."
        )
    return found


def tool_version(name: str) -> tuple[str, int]:
    """(``pg_dump (PostgreSQL) 15.20 …``, 15) for a client tool."""
    out = subprocess.run([_tool(name), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    match = re.search(r"\s(\d+)(?:\.\d+)*", out)
    if match is None:
        raise BackupError(f"cannot tell the version of {name} from {out!r}")
    return out, int(match.group(1))


def server_version(engine: Engine) -> tuple[str, int]:
    with engine.connect() as conn:
        full = conn.execute(text("SHOW server_version")).scalar()
        num = int(conn.execute(text("SHOW server_version_num")).scalar())
    return full.split()[0], num // 10000


def check_tool(name: str, *, at_least: int, what: str) -> str:
    """The tool's version line, or a clear error when it is missing or older than ``at_least``."""
    line, major = tool_version(name)
    if major < at_least:
        raise BackupError(
            f"{name} is version {major} but {what} is {at_least}: install postgresql-client-{at_least} "
            f"(or newer) and put it first on PATH."
        )
    return line


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The database URL for libpq tools without its password, which goes in PGPASSWORD (not in ``ps``)."""
    url: URL = engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return url.set(password=None).render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        name = Path(argv[0]).name
        raise BackupError(f"{name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def pg_dump(engine: Engine, dest: Path) -> str:
    """Custom-format dump of the whole database into ``dest``; returns the tool's version line."""
    _, server_major = server_version(engine)
    line = check_tool("pg_dump", at_least=server_major, what="the server")
    url, env = _libpq(engine)
    _run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={dest}", f"--dbname={url}"], env
    )
    return line


def pg_restore(engine: Engine, source: Path, *, dump_major: int) -> None:
    """Restore ``source`` over the database in one transaction (all or nothing)."""
    _, server_major = server_version(engine)
    check_tool("pg_restore", at_least=max(server_major, dump_major), what="the server or the dump")
    engine.dispose()
    url, env = _libpq(engine)
    _run(
        [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            f"--dbname={url}",
            str(source),
        ],
        env,
    )
