"""A database of its own for tests that must really commit (concurrency and crash tests).

The rest of the suite runs inside one rolled-back transaction (tests/conftest.py), which cannot
show what two connections or a killed process do to committed data. These tests get an empty
SQLite file, or, when ``LIFELINE_TEST_DATABASE_URL`` points at PostgreSQL, a new database next
to the test database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import Settings


def _postgres_base() -> str | None:
    url = Settings(database_url=os.environ.get("LIFELINE_TEST_DATABASE_URL", "")).sqlalchemy_url
    return url if url.startswith("postgresql") else None


@contextmanager
def scratch_database(directory: Path) -> Iterator[str]:
    """The URL of an empty database: a SQLite file in ``directory`` or a fresh PostgreSQL database."""
    base = _postgres_base()
    if base is None:
        yield f"sqlite:///{directory / 'scratch.sqlite3'}"
        return
    url = make_url(base)
    name = f"{url.database}_scratch_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # FORCE: a killed client's backend may not have noticed yet that its peer is gone.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def engine_for(url: str, data_dir: Path):
    """An engine configured as production configures it (WAL, pysqlite's own transactions)."""
    from app.core.db import make_engine

    return make_engine(Settings(database_url=url, data_dir=data_dir))
