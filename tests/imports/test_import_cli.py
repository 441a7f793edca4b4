"""``lifeline import households`` in its own process, data directory and SQLite database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from app.core.config import ROOT_DIR, Settings
from app.core.db import make_engine
from app.households.models import Household
from app.imports import service
from app.imports.models import ImportJob, ImportStatus
from app.persons.models import Person
from tests.imports.conftest import row, to_csv


@pytest.fixture
def cli_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
    return env | {
        "LIFELINE_DATA_DIR": str(tmp_path / "data"),
        "LIFELINE_DATABASE_URL": "",
        "LIFELINE_ENVIRONMENT": "test",
    }


def lifeline(env, *args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


def engine_for(env):
    return make_engine(Settings(data_dir=Path(env["LIFELINE_DATA_DIR"]), database_url=""))


def test_help():
    result = lifeline(os.environ, "import", "households", "--help")
    assert result.returncode == 0 and "--dry-run" in result.stdout


def test_dry_run_import_and_rerun(cli_env, tmp_path):
    path = tmp_path / "registry.csv"
    path.write_bytes(
        to_csv(
            [row(family="髙橋"), row(person="7000002", given="花子"), row(household="700002", person="7000003")],
            encoding="cp932",
        )
    )
    dry = lifeline(cli_env, "import", "households", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert (
        "would be 3 created, 0 updated, 0 unchanged (households: 2 created, 0 updated); nothing was written"
        in dry.stdout
    )
    first = lifeline(cli_env, "import", "households", str(path))
    assert first.returncode == 0 and "3 created, 0 updated, 0 unchanged" in first.stdout
    second = lifeline(cli_env, "import", "households", str(path))
    assert (
        second.returncode == 0
        and "0 created, 0 updated, 3 unchanged (households: 0 created, 0 updated)" in second.stdout
    )
    with Session(engine_for(cli_env)) as session:
        assert session.exec(select(Person.family_name).where(Person.external_ref == "7000001")).one() == "髙橋"
        assert session.exec(select(func.count()).select_from(Household)).one() == 2


def test_errors_are_printed_by_line_and_column_with_exit_code_1(cli_env, tmp_path):
    path = tmp_path / "faulty.csv"
    path.write_bytes(to_csv([row(), row(person="7000002", born="昭和65年1月1日"), row(person="7000003", family="")]))
    result = lifeline(cli_env, "import", "households", str(path))
    assert result.returncode == 1
    assert "line 3, 生年月日: その元号にその年はありません（例：昭和は64年まで）" in result.stderr
    assert "line 4, 氏: 入力してください" in result.stderr
    assert "2 error(s) in faulty.csv; nothing was written" in result.stdout
    with Session(engine_for(cli_env)) as session:
        assert session.exec(select(func.count()).select_from(Person)).one() == 0
    missing = lifeline(cli_env, "import", "households", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = lifeline(cli_env, "import", "households", str(empty))
    assert result.returncode == 1 and "file: ファイルが空です" in result.stderr


def test_kill_9_during_the_write_leaves_nothing_and_the_job_reads_interrupted(cli_env, registry_rows, tmp_path):
    rows, _born = registry_rows(5000)
    path = tmp_path / "big.csv"
    path.write_bytes(to_csv(rows, encoding="cp932"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "import", "households", str(path)],
        cwd=ROOT_DIR,
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = engine_for(cli_env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                try:
                    status = conn.execute(text("SELECT status FROM importjob ORDER BY id DESC LIMIT 1")).scalar()
                except Exception:  # noqa: BLE001 - the table may not exist yet
                    status = None
            if status == "running":
                break
            time.sleep(0.02)
        assert status == "running"
        time.sleep(0.3)  # well inside the write phase, which takes seconds for 5,000 rows
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Session(engine) as session:
            assert session.exec(select(func.count()).select_from(Household)).one() == 0
            assert session.exec(select(func.count()).select_from(Person)).one() == 0
            job = session.exec(select(ImportJob)).one()
            assert service.get_job(session=session, job_id=job.id).status == ImportStatus.interrupted
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.dispose()
    again = lifeline(cli_env, "import", "households", str(path))
    assert again.returncode == 0 and "5000 created" in again.stdout
