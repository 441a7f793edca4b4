"""EMS app: time from QR text, and from a card shown to the camera, to the medication list; first-load size.

    .venv/bin/python benchmarks/scan.py [SCANS]

Starts the service on a temporary SQLite database with the demo data (as `make run` does),
enrolls a headless Chromium (Debian's /usr/bin/chromium) as an EMS device, signs the demo
paramedic in, then scans the demo card SCANS times (default 50): each scan is the app's own
path from the moment the QR text is available (verify on the device, POST /api/v1/scans, which
writes the audit record, render) to the medication list in the DOM, measured by the app's
performance marks. Twice: on loopback, and with a throttled 4G-like network (150 ms round
trip, 1.6 Mbit/s down, 750 kbit/s up; Lighthouse's mobile profile). Targets: p95 <= 200 ms
and <= 1 s. Then the camera (tap-to-medication): Chromium's fake camera films the card as
the city prints it (`lifeline print cards`, rasterised as in tests/ems); each round takes the
card out of view, taps 次を読み取る, shows the card again and measures from that moment to the
medication list in the DOM: frame capture, zxing-wasm decoding in the worker, verification,
the audited request and rendering. Loopback and 4G-like again; target median <= 250 ms and
p95 <= 500 ms at loopback (issue 18). Then a fresh browser profile opens /ems/ once: bytes on
the wire (compressed), page and service-worker install together, without the wasm decoder.
Target: <= 200 KB.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
FOUR_G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
TARGETS_MS = {"loopback": 200, "4G-like": 1000}
CAMERA_TARGETS_MS = {"loopback": (250, 500), "4G-like": (None, None)}  # (median, p95); 4G-like: reported only
FIRST_LOAD_TARGET = 200 * 1024
PERSON = "DEMO-P001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lifeline() -> list[str]:
    script = Path(sys.executable).with_name("lifeline")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _wait(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"lifeline serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("lifeline serve did not start")


def _prepare(env: dict[str, str]) -> dict:
    """Demo data, the demo card and a one-time device code, made by the service's own code in its data directory."""
    subprocess.run(_lifeline() + ["demo"], env=env, cwd=env["LIFELINE_DATA_DIR"], check=True, capture_output=True)
    script = f"""
import json
import app.models
from sqlmodel import Session, select
from app.cards import service as cards
from app.core import db
from app.core.models import Actor, Source
from app.devices import service as devices
from app.devices.models import DeviceCreate
from app.persons.models import Person
actor = Actor(user_id=None, name="benchmark", source=Source.staff)
with Session(db.get_engine()) as session:
    person = session.exec(select(Person).where(Person.external_ref == {PERSON!r})).one()
    card = cards.ensure_issued(session=session, actor=actor, person_id=person.id)
    device = DeviceCreate(name="benchmark", organisation="benchmark")
    _, code = devices.create(session=session, actor=actor, data=device)
    print(json.dumps({{"qr": card.qr_text, "code": code, "household": person.household_id}}))
"""
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def _prepare_code(env: dict[str, str]) -> str:
    """A one-time code for a second device (the camera's browser)."""
    script = """
import app.models
from sqlmodel import Session
from app.core import db
from app.core.models import Actor, Source
from app.devices import service as devices
from app.devices.models import DeviceCreate
with Session(db.get_engine()) as session:
    actor = Actor(user_id=None, name="benchmark", source=Source.staff)
    print(devices.create(session=session, actor=actor, data=DeviceCreate(name="camera", organisation="benchmark"))[1])
"""
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _sign_in(page, code: str, password: str, first_screen: str = "#screen-scan") -> None:
    page.goto("/ems/")
    page.locator("#enroll-code").fill(code)
    page.locator("#enroll-form button[type=submit]").click()
    page.locator("#signin-username").fill("demo-paramedic")
    page.locator("#signin-password").fill(password)
    page.locator("#signin-form button[type=submit]").click()
    page.locator(first_screen).wait_for(state="visible", timeout=60_000)


def _scan_times(page, qr: str, scans: int) -> list[float]:
    page.evaluate("performance.clearMeasures('lifeline:scan')")
    for index in range(scans):
        # The app's entry for text from any source (camera, link, scanner): location.hash → handleText.
        page.evaluate("(qr) => { location.hash = '#qr=' + encodeURIComponent(qr) }", qr)
        page.wait_for_function(
            "(n) => performance.getEntriesByName('lifeline:scan').length >= n", arg=index + 1, timeout=30_000
        )
    return page.evaluate("performance.getEntriesByName('lifeline:scan').map((m) => m.duration)")


def _report(label: str, times: list[float]) -> bool:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    median = statistics.median(ordered)
    ok = p95 <= TARGETS_MS[label]
    print(
        f"{label:<9} scans={len(times)}  median={median:7.1f} ms  p95={p95:7.1f} ms  max={ordered[-1]:7.1f} ms"
        f"  (target p95 <= {TARGETS_MS[label]} ms: {'met' if ok else 'MISSED'})"
    )
    return ok


def _camera_video(env: dict[str, str], made: dict, directory: str) -> str:
    """A Y4M of the printed demo card, as the fake camera of tests/ems films it."""
    sys.path.insert(0, str(ROOT))  # the test suite's card renderer, run as a script from benchmarks/
    from tests.ems import fake_camera

    pdf = Path(directory) / "cards.pdf"
    args = ["print", "cards", "--household", str(made["household"]), "--layout", "cr80", "--out", str(pdf)]
    subprocess.run(_lifeline() + args, env=env, cwd=directory, check=True, capture_output=True)
    frame = fake_camera.frame_with(fake_camera.card_from_pdf(pdf, made["qr"]))
    return str(fake_camera.write_y4m(frame, Path(directory) / "card.y4m"))


# Card out of view (no frames), 次を読み取る, then the card shown again: the time from showing it
# to the medication list, by the app's own marks.
_SHOW_CARD_AGAIN = """async () => {
  const video = document.getElementById('video')
  const stream = video.srcObject
  video.srcObject = null
  document.getElementById('scan-next').click()
  const aim = document.getElementById('camera-note')
  while (!/枠に入れて/.test(aim.textContent)) await new Promise((r) => setTimeout(r, 20))
  await new Promise((r) => setTimeout(r, 600))  // out of view longer than the scanner's same-card hold
  const before = performance.getEntriesByName('lifeline:rendered').length
  const shown = performance.now()
  video.srcObject = stream
  await video.play()
  while (performance.getEntriesByName('lifeline:rendered').length === before) await new Promise((r) => setTimeout(r, 5))
  return performance.getEntriesByName('lifeline:rendered').at(-1).startTime - shown
}"""


def _camera_times(page, rounds: int) -> list[float]:
    return [page.evaluate(_SHOW_CARD_AGAIN) for _ in range(rounds)]


def _report_camera(label: str, times: list[float]) -> bool:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    median = statistics.median(ordered)
    median_target, p95_target = CAMERA_TARGETS_MS[label]
    ok = median_target is None or (median <= median_target and p95 <= p95_target)
    target = f"target median <= {median_target} ms, p95 <= {p95_target} ms: {'met' if ok else 'MISSED'}"
    print(
        f"camera {label:<9} rounds={len(times)}  median={median:7.1f} ms  p95={p95:7.1f} ms  max={ordered[-1]:7.1f} ms"
        f"  ({target if median_target else 'reported only'})"
    )
    return ok


def _camera(playwright, url: str, video: str, code: str, password: str, rounds: int) -> list[bool]:
    camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + camera)
    context = browser.new_context(
        base_url=url, viewport={"width": 360, "height": 640}, locale="ja-JP", permissions=["camera"]
    )
    page = context.new_page()
    _sign_in(page, code, password, first_screen="#screen-result")
    page.locator("body[data-result='summary']").wait_for(timeout=60_000)
    _camera_times(page, 2)  # warm up: the decoder's WebAssembly, the first connection
    results = [_report_camera("loopback", _camera_times(page, rounds))]
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", FOUR_G)
    results.append(_report_camera("4G-like", _camera_times(page, rounds)))
    browser.close()
    return results


def _first_load(browser, url: str) -> bool:
    context = browser.new_context(base_url=url, service_workers="allow")
    sizes: list[tuple[str, int, int]] = []

    def finished(request):
        response = request.response()
        if response is None:
            return
        size = request.sizes()
        sizes.append((request.url, size["responseBodySize"] + size["responseHeadersSize"], response.status))

    context.on("requestfinished", finished)
    page = context.new_page()
    page.goto("/ems/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_timeout(1500)  # let the install finish its last fetches
    context.close()
    wasm = sum(s for u, s, _ in sizes if u.endswith(".wasm"))
    rest = sum(s for u, s, _ in sizes if not u.endswith(".wasm"))
    ok = rest <= FIRST_LOAD_TARGET
    print(
        f"first load: {rest / 1024:.1f} KB on the wire "
        f"in {len([u for u, _, _ in sizes if not u.endswith('.wasm')])} responses "
        "(page + service-worker install, compressed, without the decoder; "
        f"target <= 200 KB: {'met' if ok else 'MISSED'}); "
        f"zxing_reader.wasm {wasm / 1024:.1f} KB"
    )
    return ok


def main(scans: int) -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lifeline-bench-") as directory:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
        env |= {
            "LIFELINE_ENVIRONMENT": "development",
            "LIFELINE_DATA_DIR": directory,
            "LIFELINE_DATABASE_URL": "",
            "LIFELINE_PUBLIC_URL": url,
            "PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS": "1",
        }
        made = _prepare(env)
        password = json.loads((Path(directory) / "demo-logins.json").read_text())["paramedic"]
        server = subprocess.Popen(
            _lifeline() + ["serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = (
            "1"  # the driver counts the service worker's fetches too
        )
        try:
            _wait(url, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(base_url=url, viewport={"width": 360, "height": 640}, locale="ja-JP")
                page = context.new_page()
                _sign_in(page, made["code"], password)
                _scan_times(page, made["qr"], 3)  # warm up: key import, first connection
                results = [_report("loopback", _scan_times(page, made["qr"], scans))]
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", FOUR_G)
                results.append(_report("4G-like", _scan_times(page, made["qr"], scans)))
                context.close()
                results.append(_first_load(browser, url))
                browser.close()
                video = _camera_video(env, made, directory)
                results += _camera(playwright, url, video, _prepare_code(env), password, min(scans, 30))
        finally:
            server.terminate()
            server.wait(timeout=15)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
