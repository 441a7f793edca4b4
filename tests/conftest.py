"""Shared fixtures: a real database (SQLite by default, PostgreSQL when
``LIFELINE_TEST_DATABASE_URL`` is set), one transaction rolled back per test, persona users
and factories. No database is mocked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_DATA_DIR = Path(tempfile.mkdtemp(prefix="lifeline-test-"))
os.environ["LIFELINE_ENVIRONMENT"] = "test"
os.environ["LIFELINE_DATA_DIR"] = str(_DATA_DIR)
os.environ["LIFELINE_DATABASE_URL"] = os.environ.get("LIFELINE_TEST_DATABASE_URL", "")

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app import bootstrap  # noqa: E402
from app.core.config import get_settings  # noqa: E402
from app.core.db import enable_sqlite_savepoints, get_session, make_engine, request_engine  # noqa: E402
from tests.factories import Factories  # noqa: E402

IS_POSTGRES = get_settings().sqlalchemy_url.startswith("postgresql")


def reset_postgres(engine) -> None:
    """Start from an empty schema so migrations are tested from scratch on every run."""
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _DATA_DIR


@pytest.fixture(scope="session")
def engine():
    engine = make_engine(get_settings())
    if IS_POSTGRES:
        reset_postgres(engine)
    else:
        enable_sqlite_savepoints(engine)
    bootstrap.prepare_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate limits stay on in tests; each test starts with empty counters."""
    from app.core import ratelimit

    ratelimit.reset()


@pytest.fixture
def connection(engine):
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def db(connection) -> Session:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session


@pytest.fixture
def app(connection):
    from app.main import create_app

    application = create_app(run_migrations=False)

    def _session():
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            try:
                yield session
            finally:
                # In production the audit log is written on its own connection and survives whatever
                # the request's session does, even when the route then refuses (403) or fails. Here
                # both share the test connection, so the savepoint the request left open is released
                # rather than rolled back, or the audit rows written inside it would vanish with it.
                # Services commit or roll back their own writes explicitly before raising.
                if session.in_transaction():
                    try:
                        session.commit()
                    except Exception:
                        session.rollback()

    application.dependency_overrides[get_session] = _session
    # Audit appends open their own session on "the engine"; here that is the test connection,
    # so they take part in the rolled-back transaction too.
    application.dependency_overrides[request_engine] = lambda: connection
    return application


@pytest.fixture
def client(app) -> TestClient:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def refuse_audit_inserts(db):
    """``refuse_audit_inserts()`` → from then on every write to the audit log fails, as it would on a
    full disk or a lost database; a trigger inside the test's rolled-back transaction."""

    def _refuse() -> None:
        if IS_POSTGRES:
            db.exec(
                text(
                    "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit refused'; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            db.exec(
                text(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON auditevent FOR EACH ROW EXECUTE FUNCTION "
                    "refuse_audit()"
                )
            )
        else:
            db.exec(
                text(
                    "CREATE TRIGGER refuse_audit BEFORE INSERT ON auditevent BEGIN SELECT RAISE(ABORT, "
                    "'audit refused'); END"
                )
            )
        db.commit()

    return _refuse


@pytest.fixture
def make(db) -> Factories:
    return Factories(db)


@pytest.fixture
def login(app, db):
    """``login(user)`` → a TestClient signed in as ``user`` (web cookie + CSRF header set)."""
    from app.auth import service as auth
    from app.auth.deps import SESSION_COOKIE

    clients = []

    def _login(user) -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        clients.append(c)
        token, _ = auth.start_session(session=db, user=user, kind="web")
        c.cookies.set(SESSION_COOKIE, token)
        c.get("/login")  # receive the CSRF cookie
        c.headers["x-csrftoken"] = c.cookies.get("csrftoken", "")
        return c

    yield _login
    for c in clients:
        c.close()


@pytest.fixture
def anonymous(app):
    """``anonymous()`` → a TestClient without a session, holding a CSRF token (a browser that opened a page)."""
    clients = []

    def _new() -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        clients.append(c)
        c.get("/login")
        c.headers["x-csrftoken"] = c.cookies.get("csrftoken", "")
        return c

    yield _new
    for c in clients:
        c.close()


@pytest.fixture
def personas(make):
    """One user of every role, with the relationships the access rules depend on."""
    return make.personas()
