"""A burst of concurrent requests larger than the database pool queues; it does not stall.

Before app.core.admission, 60 concurrent scans on SQLite (pool 15, 40 threads) stalled the
service for the pool timeout (30 s) and 40 of them failed with 500. Here the pool is 2 connections,
so a stall would need only a few dozen requests in flight; 80 clients scan five times each.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.browser.conftest import ROOT, running_server

BURST = 80
ROUNDS = 5


def test_a_burst_larger_than_the_pool_is_served(tmp_path):
    with running_server(
        tmp_path, db_suffix="burst", settings={"LIFELINE_DB_POOL_SIZE": "2", "LIFELINE_DB_MAX_OVERFLOW": "0"}
    ) as server:
        done = subprocess.run(
            [sys.executable, "-m", "tests.network.live_ops", "setup"],
            env=server.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        setup = json.loads(done.stdout)
        with httpx.Client(base_url=server.url, timeout=120) as client:
            device = client.post("/api/v1/devices/enroll", json={"code": setup["code"]}).json()["device_token"]
            username, password = server.login("paramedic")
            token = client.post(
                "/api/v1/auth/token",
                data={"username": username, "password": password},
                headers={"X-Lifeline-Device": device},
            ).json()["access_token"]
        crew = {"Authorization": f"Bearer {token}", "X-Lifeline-Device": device}

        def scans(i: int) -> list[tuple[int, str]]:
            # Each client its own keep-alive connection, scanning again as soon as it is answered.
            with httpx.Client(base_url=server.url, headers=crew, timeout=120) as own:
                return [
                    (r.status_code, r.json().get("status", ""))
                    for r in (
                        own.post("/api/v1/scans", json={"qr": setup["qr"], "incident": f"R8-{i}-{n}"})
                        for n in range(ROUNDS)
                    )
                ]

        with ThreadPoolExecutor(BURST) as pool:
            answers = [answer for answers in pool.map(scans, range(BURST)) for answer in answers]
        assert answers == [(200, "genuine")] * (BURST * ROUNDS), server.log_tail()
