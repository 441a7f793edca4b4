"""Browser tests: the real service in a subprocess, driven by Debian's headless Chromium.

The live server is started exactly as the README tells a person to: ``lifeline demo`` loads the
fictional demo data and writes the demo sign-ins, then ``lifeline serve`` serves it. It has its
own data directory and its own database (a separate PostgreSQL database when the suite runs on
PostgreSQL), so it never sees the rolled-back transactions of the other tests.

A missing Chromium fails these tests (it is never a skip): ``make test`` installs it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOC_IMAGES = ROOT / "docs" / "images"
START_TIMEOUT_S = 90


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    logins: dict[str, str]  # role -> password; usernames are demo-<role>
    demo_output: str
    log_path: Path
    process: subprocess.Popen | None = field(default=None, repr=False)
    # Authenticators set up during the run (username -> secret read from the set-up page), and
    # the last time step each has used: the server accepts a step only once.
    totp_secrets: dict[str, str] = field(default_factory=dict)
    totp_steps: dict[str, int] = field(default_factory=dict)

    def login(self, role: str) -> tuple[str, str]:
        return f"demo-{role}", self.logins[role]

    def totp_code(self, username: str) -> str:
        """The next code the server will accept for ``username`` (waits when two were used this step)."""
        import pyotp

        otp = pyotp.TOTP(self.totp_secrets[username])
        while True:
            current = otp.timecode(time.time())
            step = max(current, self.totp_steps.get(username, 0) + 1)
            if step <= current + 1:
                self.totp_steps[username] = step
                return otp.generate_otp(step)
            time.sleep(1)

    def second_step(self, page, username: str) -> None:
        """After the password was sent: set up the authenticator (a demo account's first sign-in,
        as a newcomer would, reading the key from the page) or enter its code; nothing for others."""
        from urllib.parse import urlparse

        page.wait_for_url(lambda url: urlparse(url).path != "/login")
        path = urlparse(page.url).path
        if path == "/login/enrol":
            self.totp_secrets[username] = page.locator("#totp-secret").inner_text().replace(" ", "")
            page.locator("#f-code").fill(self.totp_code(username))
            page.get_by_role("button", name="設定を終える").click()
            page.get_by_role("link", name="保管しました。続ける").click()
        elif path == "/login/code":
            page.locator("#f-code").fill(self.totp_code(username))
            page.get_by_role("button", name="確認してログイン", exact=True).click()
        page.wait_for_url(lambda url: not urlparse(url).path.startswith("/login"))

    def sign_in(self, page, role: str) -> None:
        """Sign in as the demo account of ``role``: the password, then the authenticator."""
        username, password = self.login(role)
        password_step(page, username, password)
        self.second_step(page, username)

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``lifeline ARGS`` against the live server's data directory and database."""
        return _run_cli(list(args), env=self.env, cwd=self.data_dir, input=input, check=check)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _lifeline_command() -> list[str]:
    script = Path(sys.executable).with_name("lifeline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _run_cli(args: list[str], *, env, cwd, input=None, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        _lifeline_command() + args, env=env, cwd=cwd, input=input, text=True, capture_output=True, timeout=180
    )
    if check and result.returncode != 0:
        raise AssertionError(f"lifeline {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_live_database(test_url: str, suffix: str) -> tuple[str, str]:
    """Recreate ``<db>_<suffix>_<pid>`` next to the test database; return (its URL, admin conninfo)."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(test_url).set(drivername="postgresql")
    # One per test run (and xdist worker), so that runs side by side never share a live database.
    name = f"{url.database}_{suffix}_{os.getpid()}"
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url.set(database=name).render_as_string(hide_password=False), admin


def _drop_postgres_database(admin: str, live_url: str) -> None:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(make_url(live_url).database))
        )


def _wait_until_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"lifeline serve exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as exc:
            last_error = exc
        time.sleep(0.2)
    raise AssertionError(
        f"lifeline serve did not answer /healthz in {START_TIMEOUT_S}s ({last_error}):\n{server.log_tail()}"
    )


def password_step(page, username: str, password: str, *, path: str = "/login") -> None:
    """The sign-in form's first step, as a person types it (``LiveServer.second_step`` follows)."""
    page.goto(path)
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()


@contextmanager
def running_server(
    data_dir: Path, *, db_suffix: str, settings: dict[str, str] | None = None, host: str = "127.0.0.1"
) -> Iterator[LiveServer]:
    """``lifeline demo`` then ``lifeline serve`` on a free port, with its own data dir and database
    (and ``settings``: more LIFELINE_* variables). ``host`` is the name the browser uses (it always
    listens on 127.0.0.1): "localhost" where a host name is needed, as WebAuthn refuses IP addresses."""
    test_url = os.environ.get("LIFELINE_TEST_DATABASE_URL", "")
    database_url, admin = "", ""
    if test_url.startswith(("postgresql", "postgres://")):
        database_url, admin = _postgres_live_database(test_url, db_suffix)
    port = _free_port()
    url = f"http://{host}:{port}"
    # The test process's own LIFELINE_* settings (set by tests/conftest.py) must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
    env |= {
        "LIFELINE_ENVIRONMENT": "development",
        "LIFELINE_DATA_DIR": str(data_dir),
        "LIFELINE_DATABASE_URL": database_url,
        "LIFELINE_PUBLIC_URL": url,
        "PYTHONUNBUFFERED": "1",
    }
    # The whole suite enrols devices and signs in from 127.0.0.1 many times a minute against one
    # server; the limits themselves are proven in tests/core/test_ratelimit.py.
    env |= {
        f"LIFELINE_RATE_LIMIT_{name}": "10000/minute"
        for name in ("SIGN_IN", "SIGN_IN_USER", "CODE", "SCAN", "CARD_PAGE")
    }
    env |= settings or {}
    demo = _run_cli(["demo"], env=env, cwd=data_dir)
    logins = json.loads((data_dir / "demo-logins.json").read_text())
    log_path = data_dir / "server.log"
    server = LiveServer(url=url, data_dir=data_dir, env=env, logins=logins, demo_output=demo.stdout, log_path=log_path)
    with log_path.open("w") as log:
        server.process = subprocess.Popen(
            _lifeline_command() + ["serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
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
            _drop_postgres_database(admin, database_url)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("live-server"), db_suffix="live") as server:
        yield server


# Package scope, not session: while the sync API is open, its event loop counts as running in
# this thread, so tests elsewhere that start Playwright (or asyncio) of their own would fail.
@pytest.fixture(scope="package")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium package. "
            "Run `make test` (it installs it as root) or `apt-get install chromium fonts-noto-cjk`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class BrowserEvents:
    """What happened besides rendering; each page checks these when its test ends."""

    dialogs: list[str] = field(default_factory=list)
    dialog_answers: list[bool] = field(default_factory=list)  # a test's answers to come (True: OK); otherwise dismissed
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)  # 5xx responses
    missing_assets: list[str] = field(default_factory=list)  # 404 for a stylesheet, script, image…


@pytest.fixture
def browser_events() -> BrowserEvents:
    return BrowserEvents()


def _check_response(response, events: BrowserEvents) -> None:
    request = response.request
    if response.status >= 500:
        events.server_errors.append(f"{response.status} {request.method} {response.url}")
    elif response.status == 404 and request.resource_type != "document":
        events.missing_assets.append(response.url)


def _open_page(request, browser, live_server: LiveServer, events: BrowserEvents, viewport: dict):
    context = browser.new_context(
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        viewport=viewport,
        base_url=live_server.url,
        has_touch=viewport == TABLET,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()

    def on_dialog(dialog):
        events.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.accept() if events.dialog_answers and events.dialog_answers.pop(0) else dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: events.page_errors.append(str(error)))
    page.on("console", lambda msg: events.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: _check_response(r, events))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        except Exception:  # the screenshot is a courtesy; the test already failed
            pass
    context.close()
    # An uncaught script error is a bug whatever the test looked at (e.g. htmx blocked by the CSP).
    assert not events.page_errors, f"uncaught script errors in the page: {events.page_errors}"
    assert not events.server_errors, f"the server failed (5xx): {events.server_errors}\n{live_server.log_tail()}"
    assert not events.missing_assets, f"the page refers to missing files: {events.missing_assets}"
    # Refused loads are normal (a 401 sign-in page, a 422 form); anything else in the console,
    # such as a Content-Security-Policy violation, is a defect.
    console = [m for m in events.console_errors if not m.startswith("Failed to load resource")]
    assert not console, f"errors in the browser console: {console}"


@pytest.fixture
def page(request, browser, live_server, browser_events):
    """A fresh browser context (no cookies) per test, desktop size, Japanese locale."""
    yield from _open_page(request, browser, live_server, browser_events, DESKTOP)


@pytest.fixture
def tablet_page(request, browser, live_server, browser_events):
    """A fresh context at tablet size (820 × 1180, touch), as used at a counter or on a visit."""
    yield from _open_page(request, browser, live_server, browser_events, TABLET)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def doc_screenshot():
    """``doc_screenshot(page, name)`` refreshes docs/images/NAME.png, only when
    LIFELINE_UPDATE_SCREENSHOTS=1 (a normal test run never touches the repository)."""

    def _save(page, name: str, *, full_page: bool = False) -> None:
        if os.environ.get("LIFELINE_UPDATE_SCREENSHOTS") == "1":
            DOC_IMAGES.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOC_IMAGES / f"{name}.png"), full_page=full_page)

    return _save
