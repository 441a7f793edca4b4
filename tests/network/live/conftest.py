"""A live server of its own for the network tests (its own data directory and PostgreSQL database)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.browser.conftest import (CHROMIUM, CHROMIUM_ARGS, ROOT, LiveServer, _free_port, _lifeline_command, _run_cli,
                                    _wait_until_healthy)
from tests.browser.conftest import browser_events, page, pytest_runtest_makereport  # noqa: F401  (same page checks)


def _postgres(test_url: str) -> tuple[str, str]:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(test_url).set(drivername="postgresql")
    name = f"{url.database}_net_{os.getpid()}"
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url.set(database=name).render_as_string(hide_password=False), admin


@pytest.fixture(scope="package")
def live_server(tmp_path_factory) -> LiveServer:
    data_dir = tmp_path_factory.mktemp("network-live-server")
    test_url = os.environ.get("LIFELINE_TEST_DATABASE_URL", "")
    database_url, admin = _postgres(test_url) if test_url.startswith(("postgresql", "postgres://")) else ("", "")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
    env |= {"LIFELINE_ENVIRONMENT": "development", "LIFELINE_DATA_DIR": str(data_dir), "LIFELINE_DATABASE_URL": database_url,
            "LIFELINE_PUBLIC_URL": url, "PYTHONUNBUFFERED": "1"}
    demo = _run_cli(["demo"], env=env, cwd=data_dir)
    logins = json.loads((data_dir / "demo-logins.json").read_text())
    log_path = data_dir / "server.log"
    server = LiveServer(url=url, data_dir=data_dir, env=env, logins=logins, demo_output=demo.stdout, log_path=log_path)
    with log_path.open("w") as log:
        server.process = subprocess.Popen(_lifeline_command() + ["serve", "--host", "127.0.0.1", "--port", str(port)],
                                          env=env, cwd=data_dir, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
        if admin:
            import psycopg
            from psycopg import sql
            from sqlalchemy.engine import make_url

            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(make_url(database_url).database)))


@pytest.fixture(scope="package")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium package.", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def setup(live_server) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.network.live_ops", "setup"], env=live_server.env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
