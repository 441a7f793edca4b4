"""A live server of its own for the network tests (its own data directory and PostgreSQL database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.browser.conftest import (  # noqa: F401  (same page checks)
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    LiveServer,
    browser_events,
    page,
    pytest_runtest_makereport,
    running_server,
)


@pytest.fixture(scope="package")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("network-live-server"), db_suffix="net") as server:
        yield server


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
    done = subprocess.run(
        [sys.executable, "-m", "tests.network.live_ops", "setup"],
        env=live_server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
