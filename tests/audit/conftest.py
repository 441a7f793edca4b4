"""Audit test helpers: appending events, bypassing the append-only triggers as a superuser would,
and a scratch database (its own SQLite file or PostgreSQL database) for the ``lifeline`` CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.audit.signing import audit_keys
from app.audit.verify import verify_database
from app.core.config import Settings, get_settings
from app.core.db import make_engine
from tests.conftest import IS_POSTGRES

APPEND_ONLY = ("auditevent", "auditcheckpoint", "auditreview")


def add_events(bind, n: int, **fields) -> list[AuditEvent]:
    """``n`` fictional accesses appended through the real writer."""
    base = {
        "action": "person.view",
        "actor_user_id": 7,
        "actor_username": "test-staff",
        "actor_role": "staff",
        "organisation": "加須市 健康医療部",
        "device": "Mozilla/5.0",
        "person_id": 11,
        "household_id": 5,
        "fields": "dataset",
        "purpose": "staff",
        "ip": "10.0.0.1",
    } | fields
    return [audit.append(engine=bind, **base) for _ in range(n)]


def crew_view(
    connection,
    person,
    *,
    emergency=False,
    incident="R8-000123",
    purpose="意識障害",
    username="kazo-crew-7",
    device="加須1号救急車 端末",
) -> AuditEvent:
    """A crew's view of ``person`` as the scans route records it."""
    return audit.append(
        engine=connection,
        action="scan.view",
        actor_user_id=None,
        actor_username=username,
        actor_role="paramedic",
        organisation="埼玉東部消防組合 加須消防署",
        device=device,
        person_id=person.id,
        household_id=person.household_id,
        fields="emergency_summary",
        purpose=purpose,
        incident=incident,
        emergency=emergency,
    )


def head_seq(db) -> int:
    return db.exec(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())).first() or 0


def bypass_append_only(conn) -> None:
    """What a database superuser can do: switch off the triggers (rolled back with the test)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))


def verify(bind):
    return verify_database(bind, keys=audit_keys().public_keys())


@pytest.fixture
def every(monkeypatch):
    """``every(n)``: a signed checkpoint every ``n`` records for this test."""

    def _set(n: int) -> None:
        monkeypatch.setattr(get_settings(), "audit_checkpoint_every", n)

    return _set


@dataclass
class Scratch:
    """A database of its own, committed for real, with the ``lifeline`` command pointed at it."""

    url: str
    data_dir: Path
    engine: object

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
        return env | {
            "LIFELINE_DATA_DIR": str(self.data_dir),
            "LIFELINE_DATABASE_URL": self.url,
            "LIFELINE_ENVIRONMENT": "development",
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        script = Path(sys.executable).with_name("lifeline")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
        return subprocess.run(
            command + list(args), env=self.env, cwd=self.data_dir, capture_output=True, text=True, timeout=180
        )

    def sql(self, statement: str, **params) -> None:
        """Tamper as a superuser: triggers bypassed, committed."""
        with self.engine.begin() as conn:
            bypass_append_only(conn)
            conn.execute(text(statement), params)


@pytest.fixture
def scratch(tmp_path, data_dir):
    """A migrated scratch database sharing the test run's audit key (copied into its data directory)."""
    from app import bootstrap

    scratch_dir = tmp_path / "data"
    scratch_dir.mkdir()
    url, admin, name = "", None, None
    if IS_POSTGRES:
        import psycopg
        from psycopg import sql
        from sqlalchemy.engine import make_url

        base = make_url(os.environ["LIFELINE_TEST_DATABASE_URL"]).set(drivername="postgresql")
        name = f"{base.database}_audit_{os.getpid()}"
        admin = base.set(database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(Settings(data_dir=scratch_dir, database_url=url))
    bootstrap.prepare_database(engine)
    audit_keys().signer()  # the run's key, created if needed, then shared with the scratch directory
    shutil.copytree(data_dir / "keys" / "audit", scratch_dir / "keys" / "audit")
    yield Scratch(url=url, data_dir=scratch_dir, engine=engine)
    engine.dispose()
    if admin:
        import psycopg
        from psycopg import sql

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
