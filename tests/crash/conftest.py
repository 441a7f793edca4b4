"""Crash tests: the real ``lifeline`` command in its own process, data directory and database,
killed with SIGKILL once its work is demonstrably under way, then restarted and inspected.

The database is an SQLite file, or a fresh PostgreSQL database when ``LIFELINE_TEST_DATABASE_URL``
points at PostgreSQL (tests/committing_database.py); the same tests run on both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from app.core.config import ROOT_DIR
from tests.committing_database import engine_for, scratch_database

BIN = Path(sys.executable).parent  # .venv/bin: the installed console command
DEADLINE_SECONDS = 180


@dataclass
class Instance:
    """One installation: run ``lifeline`` and helper scripts against it, query its database."""

    data_dir: Path
    url: str
    env: dict[str, str] = field(init=False)
    _engine: object = field(default=None, init=False, repr=False)

    def __post_init__(self):
        base = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
        self.env = base | {
            "LIFELINE_DATA_DIR": str(self.data_dir),
            "LIFELINE_DATABASE_URL": self.url,
            "LIFELINE_ENVIRONMENT": "test",
            "LIFELINE_PUBLIC_URL": "https://ll.city.kazo.lg.jp",
        }

    def run(self, *args: str, **env) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "lifeline"), *args],
            cwd=ROOT_DIR,
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=DEADLINE_SECONDS,
        )

    def start(self, *args: str, **env) -> subprocess.Popen:
        return self._popen([str(BIN / "lifeline"), *args], env)

    def python(self, *args: str, **env) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args],
            cwd=ROOT_DIR,
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=DEADLINE_SECONDS,
        )

    def start_python(self, *args: str, **env) -> subprocess.Popen:
        return self._popen([sys.executable, *args], env)

    def _popen(self, argv: list[str], env: dict) -> subprocess.Popen:
        # Output to a file, not a pipe nobody reads while waiting: a full pipe would stall the process.
        self.data_dir.parent.joinpath("logs").mkdir(exist_ok=True)
        log = self.data_dir.parent / "logs" / f"{time.monotonic_ns()}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                argv, cwd=ROOT_DIR, env=self.env | env, stdout=out, stderr=subprocess.STDOUT, text=True
            )
        proc.log = log
        return proc

    @property
    def engine(self):
        if self._engine is None:
            self._engine = engine_for(self.url, self.data_dir)
        return self._engine

    def scalar(self, sql: str, **params):
        """One value, or None while the table does not exist yet (the process is still migrating)."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(text(sql), params).scalar()
        except Exception:  # noqa: BLE001 - polled before the schema exists
            return None

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


@pytest.fixture
def instance(tmp_path):
    with scratch_database(tmp_path) as url:
        inst = Instance(tmp_path / "data", url)
        try:
            yield inst
        finally:
            inst.close()


def wait_until(proc: subprocess.Popen, ready: Callable[[], bool], what: str) -> None:
    """Poll until ``ready()`` holds while ``proc`` runs; fail if it ends (or the deadline passes) first."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the process ended (exit {proc.returncode}) before {what}: {proc.log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no sign of {what} within {DEADLINE_SECONDS} s")
        time.sleep(0.02)  # polling interval, not synchronisation


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], what: str) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds (its work demonstrably under way)."""
    try:
        wait_until(proc, ready, what)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()  # also when the test failed: leave nothing running
        proc.wait(timeout=DEADLINE_SECONDS)
    assert proc.returncode == -signal.SIGKILL, f"the process was not killed mid-way (exit {proc.returncode})"
