"""Engine, sessions and migrations. Everything talks to the database through here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings, get_settings
from app.core.errors import Invalid, StaleVersion

# Explicit constraint names so Alembic migrations are reproducible on SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


NUL_MESSAGE = "入力に使えない文字（NUL）が含まれています。入力し直してください"


def _values(parameters):
    """Every value bound to a statement, whatever its shape: one row or many (the driver's
    paramstyle and SQLAlchemy's batching decide), a row as a tuple or a dict, a value a list."""
    for item in parameters.values() if isinstance(parameters, dict) else parameters or ():
        if isinstance(item, dict):
            yield from item.values()
        elif isinstance(item, (list, tuple)):
            yield from item
        else:
            yield item


def _refuse_nul(_conn, _cursor, _statement, parameters, _context, _executemany) -> None:
    """No text with a NUL reaches the database, whatever route it came through.

    Models refuse control characters where people type (app.core.models.reject_control); this
    is the net under them. PostgreSQL refuses NUL in text (the request would fail with a 500) and
    SQLite would store it silently; both now get the same clear, translated 422, and the
    transaction is rolled back as for any failed statement, so nothing is half-written.
    """
    if any(isinstance(value, str) and "\x00" in value for value in _values(parameters)):
        raise Invalid(NUL_MESSAGE)


def make_engine(settings: Settings, **pool) -> Engine:
    engine = _make_engine(settings, **pool)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    return engine


def _make_engine(settings: Settings, **pool) -> Engine:
    url = settings.sqlalchemy_url
    pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow} | pool
    if url.startswith("sqlite"):
        settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def enable_sqlite_savepoints(engine: Engine) -> None:
    """Let SQLAlchemy own SQLite transactions so SAVEPOINTs work (used by the test harness).

    Production keeps pysqlite's default, where a transaction begins at its first write: a
    request that has only read never holds a WAL snapshot, so it can still write after the
    audit writer (another connection) has committed, instead of failing with SQLITE_BUSY.
    """

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_conn, _record):
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN")


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings())


@lru_cache
def get_audit_engine() -> Engine:
    """The audit writer's own connection, outside the request pool.

    A request writes its audit record while its session still holds a pooled connection; had
    the writer to take a second one from the same pool, as many concurrent requests as the pool
    has connections would each wait for one more and stall until the pool timeout (seen at 50
    concurrent scans). Appends are serialised per process anyway, so one connection is enough.
    """
    return make_engine(get_settings(), pool_size=1, max_overflow=0)


# Request dependencies are ``async def``: FastAPI runs a sync dependency in the thread pool, one
# hop (a wake-up and two context switches) each, on every request. Making a Session does no I/O;
# closing it ends the transaction (a round trip on PostgreSQL), so that part still goes to a thread.
async def request_engine() -> Engine:
    return get_engine()


async def get_session() -> AsyncIterator[Session]:
    session = Session(get_engine())
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


@contextmanager
def conflict_on_stale(session: Session, message: str, *, current=None) -> Iterator[None]:
    """Turn a concurrent update (the row's version moved on) into a StaleVersion conflict.

    ``current()`` re-reads the row after the rollback, so the editor can be shown what won.
    """
    from sqlalchemy.orm.exc import StaleDataError

    try:
        yield
    except StaleDataError:
        session.rollback()
        raise StaleVersion(message, current=current() if current else None) from None


def alembic_config(engine: Engine | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.attributes["connection_engine"] = engine
    return cfg


def upgrade(engine: Engine | None = None, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (run on every start and by ``lifeline db upgrade``)."""
    from alembic import command

    command.upgrade(alembic_config(engine or get_engine()), revision)


def downgrade(engine: Engine | None = None, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(engine or get_engine()), revision)
