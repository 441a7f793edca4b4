"""Fixtures for the EMS field app in a real browser.

The live server is started like tests/browser's (``lifeline demo`` then ``lifeline serve``, with its
own data directory and database), reusing that package's helpers; it gets a database of its own
so that the two live servers of a full run never share one. Chromium runs with a fake camera
that films a printed demo card: the CR80 PDF from ``card_printing``, rasterised (fake_camera.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    LiveServer,
    pytest_runtest_makereport,  # noqa: F401  (screenshots of failed tests)
    running_server,
)
from tests.ems import fake_camera

PHONE = {"width": 360, "height": 640}
CARD_PERSON = "DEMO-P001"  # 見本 太郎: warfarin, insulin, penicillin allergy, DNAR
REVOKED_PERSON = "DEMO-P002"
SW_EVENTS = "PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"


@dataclass
class EmsServer:
    live: LiveServer

    @property
    def url(self) -> str:
        return self.live.url

    def ops(self, *args: str):
        """Run tests/ems/live_ops.py against the live server's database and keys; its JSON answer."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.ems.live_ops", *args],
            env=self.live.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def paramedic(self) -> tuple[str, str]:
        return self.live.login("paramedic")


@pytest.fixture(scope="session")
def ems_server(tmp_path_factory) -> Iterator[EmsServer]:
    with running_server(tmp_path_factory.mktemp("ems-live-server"), db_suffix="ems") as live:
        yield EmsServer(live)


@pytest.fixture(scope="session")
def demo_card(ems_server, tmp_path_factory) -> dict:
    """見本 太郎's card, printed with the real printing code; ``video`` is the fake camera filming it."""
    folder = tmp_path_factory.mktemp("card")
    pdf = folder / "cards.pdf"
    card = ems_server.ops("issue-card", CARD_PERSON)
    # The DESIGN.md command, as the city prints them: the household's cards, one CR80 card per page.
    ems_server.live.cli(
        "print", "cards", "--household", str(card["household_id"]), "--layout", "cr80", "--out", str(pdf)
    )
    frame = fake_camera.frame_with(fake_camera.card_from_pdf(pdf, card["qr_text"]))
    frame.save(folder / "frame.png")
    card["video"] = str(fake_camera.write_y4m(frame, folder / "card.y4m"))
    return card


@pytest.fixture(scope="package")
def ems_browser(demo_card):
    """Chromium whose camera films the printed demo card (the zxing-wasm path: no BarcodeDetector on Linux)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium package.", pytrace=False)
    from playwright.sync_api import sync_playwright

    camera = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={demo_card['video']}",
    ]
    # Lets a test cut the service worker's own network too (context.route sees its requests); read
    # by the Playwright driver when it starts, so set only around this driver's start.
    previous = os.environ.get(SW_EVENTS)
    os.environ[SW_EVENTS] = "1"
    try:
        manager = sync_playwright()
        playwright = manager.__enter__()
    finally:
        if previous is None:
            os.environ.pop(SW_EVENTS, None)
        else:
            os.environ[SW_EVENTS] = previous
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + camera)
        yield browser
        browser.close()
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture
def new_phone(request, ems_browser, ems_server):
    """``new_phone(**context_options)`` → a page in a fresh browser profile (a new phone), camera allowed."""
    contexts, errors = [], []

    def _open(**options):
        settings = {
            "viewport": PHONE,
            "locale": "ja-JP",
            "timezone_id": "Asia/Tokyo",
            "base_url": ems_server.url,
            "permissions": ["camera"],
            "has_touch": True,
            "service_workers": "allow",
        } | options
        context = ems_browser.new_context(**settings)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield _open
    report = getattr(request.node, "rep_call", None)
    for index, context in enumerate(contexts):
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for number, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{index}-{number}.png"), full_page=True)
                except Exception:  # a courtesy only; the test already failed
                    pass
        context.close()
    assert not errors, f"uncaught script errors in the app: {errors}"


def enroll_and_sign_in(page, ems_server: EmsServer, device_name: str) -> dict:
    """What a crew does once per device and once per shift; returns the device record."""
    device = ems_server.ops("device-code", device_name)
    page.goto("/ems/")
    page.locator("#enroll-code").fill(device["code"])
    page.get_by_role("button", name="登録する").click()
    username, password = ems_server.paramedic()
    page.locator("#signin-username").fill(username)
    page.locator("#signin-password").fill(password)
    page.get_by_role("button", name="ログイン").click()
    # The scan screen, or already the result: the fake camera films the card from the start.
    page.wait_for_function(
        "() => ['scan', 'result'].includes(document.body.dataset.screen)"
    )  # a function: CSP forbids eval
    return device


@pytest.fixture
def crew_phone(new_phone, ems_server, request):
    """``crew_phone(**options)`` → an enrolled phone with a signed-in crew member (the camera starts scanning)."""

    def _open(**options):
        page = new_phone(**options)
        enroll_and_sign_in(page, ems_server, f"テスト端末 {request.node.name}"[:100])
        return page

    return _open
