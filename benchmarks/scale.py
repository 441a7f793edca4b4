"""Region-scale figures on SQLite and PostgreSQL, printed side by side.

    .venv/bin/python benchmarks/scale.py [--persons 200000] [--audit 2000000]
        [--postgres postgresql://postgres@127.0.0.1:5432/scale_db] [--no-sqlite] [--no-postgres]
        [--workdir /tmp/lifeline-scale] [--reuse] [--clients 50] [--seconds 10] [--rounds 2]

For each backend: generate the region (benchmarks/generate.py; --reuse keeps data already
generated in --workdir, and for PostgreSQL the database is dropped and recreated otherwise),
then
  (a) the scan endpoint: a paramedic user, a device enrolled with a one-time code and a crew
      sign-in, all over HTTP as the EMS app does (httpx), then ``POST /api/v1/scans`` with real card QR
      texts of generated persons, against benchmarks/bare_app.py served by the same uvicorn
      settings (one worker, httptools, uvloop, no access log), at --clients concurrent
      keep-alive clients (benchmarks/loadclient.py, asyncio), alternating bare, the service's own stack
      with a no-op route and with a route that only appends a scan's audit record
      (benchmarks/floor_app.py), and scan, --rounds times (best round of each counts);
  (b) person search (app.persons.service.search, what the staff UI and API call) by name,
      kana, phone and birth date (和暦 and ISO), p50/p95, each query in its own session;
  (c) ``audit verify`` in-process over the whole log (best of 3).
The scan rate limit is raised for the run (LIFELINE_RATE_LIMIT_SCAN), not disabled: its check is
part of every scan. Targets (issue 9): scan >= 0.5 x bare and p99 <= 50 ms at 50 clients (SQLite),
search p95 <= 100 ms, verify >= 200,000 records/s. The load client runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
PASSWORD = "benchmark crew passphrase 7"
STEPS = {}


def _step(fn):
    STEPS[fn.__name__] = fn
    return fn


# ---- steps run in a subprocess with the backend's environment (settings are read once per process)


@_step
def setup() -> dict:
    """A crew member, a device with a one-time code, and QR texts of 2,000 active cards."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    import app.models  # noqa: F401
    from app import bootstrap
    from app.auth import service as auth
    from app.auth.models import Role, User, UserCreate
    from app.cards.models import Card, CardStatus
    from app.core import db
    from app.core.models import Actor, Source
    from app.devices import service as devices
    from app.devices.models import DeviceCreate

    engine = db.get_engine()
    bootstrap.prepare_database(engine)
    actor = Actor(user_id=None, name="benchmark", source=Source.staff)
    with Session(engine) as session:
        name = f"bench-crew-{session.exec(select(func.count()).select_from(User)).one() + 1}"
        auth.create_user(
            session=session,
            data=UserCreate(
                username=name,
                password=PASSWORD,
                role=Role.paramedic,
                organisation="埼玉東部消防組合 加須消防署（ベンチマーク）",
            ),
        )
        _, code = devices.create(
            session=session, actor=actor, data=DeviceCreate(name=f"{name} 端末", organisation="ベンチマーク")
        )
        qrs = session.exec(
            select(Card.qr_text).where(Card.status == CardStatus.active).order_by(func.random()).limit(2000)
        ).all()
    return {"username": name, "code": code, "qrs": list(qrs)}


@_step
def search() -> dict:
    """p50/p95 of persons.search per kind of query, over queries made from 40 random persons."""
    import random

    from sqlmodel import Session, select

    import app.models  # noqa: F401
    from app.core import db
    from app.core.wareki import format_wareki
    from app.households.models import Household
    from app.persons import service as persons
    from app.persons.models import Person

    engine = db.get_engine()
    with Session(engine) as session:
        total = session.exec(select(Person.id).order_by(Person.id.desc()).limit(1)).one()
        rng = random.Random(7)
        ids = rng.sample(range(1, total + 1), 40)
        sample = session.exec(select(Person, Household).join(Household).where(Person.id.in_(ids))).all()
    to_hira = str.maketrans({chr(c): chr(c - 0x60) for c in range(ord("ァ"), ord("ヶ") + 1)})
    queries: dict[str, list[str]] = {
        k: [] for k in ("name", "kana", "kana prefix", "phone", "phone tail", "wareki", "iso date")
    }
    for p, h in sample:
        queries["name"].append(f"{p.family_name} {p.given_name}")
        queries["kana"].append(f"{p.family_name_kana}{p.given_name_kana}".translate(to_hira))
        queries["kana prefix"].append(p.family_name_kana)
        queries["phone"].append(h.phone)
        queries["phone tail"].append(h.phone[-4:])
        queries["wareki"].append(format_wareki(p.birth_date))
        queries["iso date"].append(p.birth_date.isoformat())
    timings: dict[str, list[float]] = {}
    for measured in (False, True):  # the first pass warms the caches
        for kind, texts in queries.items():
            for text in texts:
                started = time.perf_counter()
                with Session(engine) as session:
                    found = persons.search(session=session, query=text)
                elapsed = (time.perf_counter() - started) * 1000
                if measured:
                    timings.setdefault(kind, []).append(elapsed)
                    assert found or kind == "phone tail", f"{kind} {text!r} found nobody"
    every = [t for ts in timings.values() for t in ts]
    return {"all": _percentiles(every), "by_kind": {k: _percentiles(v) for k, v in timings.items()}}


@_step
def verify() -> dict:
    """The whole audit log verified in-process, best of three."""
    from app.audit.signing import audit_keys
    from app.audit.verify import verify_database
    from app.core import db

    best = None
    for _ in range(3):
        report = verify_database(db.get_engine(), keys=audit_keys().public_keys())
        assert report.ok, report.first_broken
        best = report if best is None or report.seconds < best.seconds else best
    return {
        "records": best.records,
        "seconds": best.seconds,
        "rate": best.rate,
        "cpu_rate": best.records / best.cpu_seconds,
    }


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    pick = lambda p: ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]  # noqa: E731
    return {"p50": pick(50), "p95": pick(95), "max": ordered[-1], "n": len(ordered)}


# ---- the driver


def _env(data_dir: Path, url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFELINE_")}
    return env | {
        "LIFELINE_ENVIRONMENT": "development",
        "LIFELINE_DATA_DIR": str(data_dir),
        "LIFELINE_DATABASE_URL": url,
        "LIFELINE_RATE_LIMIT_SCAN": "1000000/minute",
        "PYTHONPATH": str(ROOT),
    }


def _in_subprocess(step: str, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), "--step", step], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"step {step} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(target: str, env: dict, app_dir: Path) -> tuple[subprocess.Popen, str]:
    """uvicorn with the same settings for the service and the baseline."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--app-dir",
        str(app_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    log = Path(env["LIFELINE_DATA_DIR"]) / f"{target.split(':')[0]}.log"
    # A file, not a pipe: a full pipe nobody reads would stall the server at its next log line.
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{target} exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"{url}/openapi.json", timeout=2)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{target} did not start")


def _crew_headers(url: str, made: dict) -> dict:
    """Enroll the device and sign the crew member in, as the EMS app does."""
    import httpx

    enrolled = httpx.post(f"{url}/api/v1/devices/enroll", json={"code": made["code"]})
    enrolled.raise_for_status()
    device = {"X-Lifeline-Device": enrolled.json()["device_token"]}
    token = httpx.post(
        f"{url}/api/v1/auth/token", data={"username": made["username"], "password": PASSWORD}, headers=device
    )
    token.raise_for_status()
    return device | {"Authorization": f"Bearer {token.json()['access_token']}"}


def _scan_figures(env: dict, made: dict, args) -> dict:
    from loadclient import run

    bodies = [{"qr": qr, "incident": "R8-BENCH", "reason": "ベンチマーク"} for qr in made["qrs"]]
    app_server, app_url = _serve("app.asgi:app", env, ROOT)
    bare_server, bare_url = _serve("bare_app:app", env, HERE)
    floor_server, floor_url = _serve("floor_app:app", env, HERE)
    try:
        headers = _crew_headers(app_url, made)
        genuine = lambda body: b'"status":"genuine"' in body  # noqa: E731
        rounds = {"bare": [], "floor": [], "audited": [], "scan": []}
        for _ in range(args.rounds):
            rounds["bare"].append(run(f"{bare_url}/scan", bodies=bodies, clients=args.clients, seconds=args.seconds))
            for name in ("floor", "audited"):
                rounds[name].append(
                    run(
                        f"{floor_url}/bench/{name}",
                        bodies=bodies,
                        headers=headers,
                        clients=args.clients,
                        seconds=args.seconds,
                        check=genuine,
                    )
                )
            rounds["scan"].append(
                run(
                    f"{app_url}/api/v1/scans",
                    bodies=bodies,
                    headers=headers,
                    clients=args.clients,
                    seconds=args.seconds,
                    check=genuine,
                )
            )
    finally:
        for server in (app_server, bare_server, floor_server):
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    out = {}
    for name, results in rounds.items():
        best = max(results, key=lambda r: r.throughput)
        out[name] = {
            "rps": best.throughput,
            "p50": best.percentile(50),
            "p99": best.percentile(99),
            "errors": best.errors,
            "all_rps": [round(r.throughput) for r in results],
        }
    return out


def _prepare(label: str, url: str, data_dir: Path, args) -> dict:
    env = _env(data_dir, url)
    marker = data_dir / f"generated-{args.persons}-{args.audit}"
    if not (args.reuse and marker.exists()):
        if url:
            _recreate_postgres(url)
        for leftover in data_dir.glob("lifeline.sqlite3*"):
            leftover.unlink()
        data_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), "--persons", str(args.persons), "--audit", str(args.audit)],
            env=env,
            cwd=ROOT,
            check=True,
        )
        marker.write_text(f"{time.perf_counter() - started:.1f}")
    return env


def _recreate_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))


def run_backend(label: str, url: str, args) -> dict:
    data_dir = Path(args.workdir) / ("postgresql" if url else "sqlite")
    env = _prepare(label, url, data_dir, args)
    print(f"\n== {label}: measuring (load average {os.getloadavg()[0]:.1f}) ==", flush=True)
    made = _in_subprocess("setup", env)
    figures = {"generated_s": float((data_dir / f"generated-{args.persons}-{args.audit}").read_text())}
    figures["scan"] = _scan_figures(env, made, args)
    print(f"  scan: {json.dumps(figures['scan'], ensure_ascii=False)}", flush=True)
    figures["search"] = _in_subprocess("search", env)
    print(f"  search: {json.dumps(figures['search']['all'])}", flush=True)
    figures["verify"] = _in_subprocess("verify", env)
    print(f"  verify: {json.dumps(figures['verify'])}", flush=True)
    return figures


def _table(results: dict[str, dict], args) -> str:
    rows: list[tuple[str, ...]] = []
    get = lambda f: [f(r) for r in results.values()]  # noqa: E731
    rows.append(("generation (s)", *get(lambda r: f"{r['generated_s']:.0f}")))
    rows.append((f"bare FastAPI req/s ({args.clients} clients)", *get(lambda r: f"{r['scan']['bare']['rps']:,.0f}")))
    rows.append(("service stack, no-op route req/s", *get(lambda r: f"{r['scan']['floor']['rps']:,.0f}")))
    rows.append(("  no-op / bare", *get(lambda r: f"{r['scan']['floor']['rps'] / r['scan']['bare']['rps']:.2f}")))
    rows.append(("service stack + audit append only req/s", *get(lambda r: f"{r['scan']['audited']['rps']:,.0f}")))
    rows.append(
        ("  audit only / bare", *get(lambda r: f"{r['scan']['audited']['rps'] / r['scan']['bare']['rps']:.2f}"))
    )
    rows.append(("scan req/s", *get(lambda r: f"{r['scan']['scan']['rps']:,.0f}")))
    rows.append(
        ("scan / bare  (target >= 0.5)", *get(lambda r: f"{r['scan']['scan']['rps'] / r['scan']['bare']['rps']:.2f}"))
    )
    rows.append(
        ("bare p50 / p99 ms", *get(lambda r: f"{r['scan']['bare']['p50']:.1f} / {r['scan']['bare']['p99']:.1f}"))
    )
    rows.append(
        ("no-op p50 / p99 ms", *get(lambda r: f"{r['scan']['floor']['p50']:.1f} / {r['scan']['floor']['p99']:.1f}"))
    )
    rows.append(
        (
            "audit only p50 / p99 ms",
            *get(lambda r: f"{r['scan']['audited']['p50']:.1f} / {r['scan']['audited']['p99']:.1f}"),
        )
    )
    rows.append(
        (
            "scan p50 / p99 ms  (target p99 <= 50)",
            *get(lambda r: f"{r['scan']['scan']['p50']:.1f} / {r['scan']['scan']['p99']:.1f}"),
        )
    )
    rows.append(("scan errors", *get(lambda r: str(sum(r["scan"]["scan"]["errors"].values())))))
    rows.append(
        (
            "search p50 / p95 ms  (target p95 <= 100)",
            *get(lambda r: f"{r['search']['all']['p50']:.1f} / {r['search']['all']['p95']:.1f}"),
        )
    )
    for kind in next(iter(results.values()))["search"]["by_kind"]:
        rows.append(
            (
                f"  {kind} p50 / p95",
                *get(
                    lambda r, kind=kind: (
                        f"{r['search']['by_kind'][kind]['p50']:.1f} / {r['search']['by_kind'][kind]['p95']:.1f}"
                    )
                ),
            )
        )
    rows.append(("audit verify records/s  (target >= 200,000)", *get(lambda r: f"{r['verify']['rate']:,.0f}")))
    rows.append(
        (
            "  records / per CPU-second of verifier",
            *get(lambda r: f"{r['verify']['records']:,} / {r['verify']['cpu_rate']:,.0f}"),
        )
    )
    widths = [max(len(row[i]) for row in rows + [("", *results)]) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(("", *results), widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--step":
        print(json.dumps(STEPS[sys.argv[2]]()))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--audit", type=int, default=2_000_000)
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/scale_db",
        help="a throw-away database: it is dropped and recreated unless --reuse finds it generated",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--workdir", default="/tmp/lifeline-scale")
    parser.add_argument(
        "--reuse", action="store_true", help="keep data generated by an earlier run with the same sizes"
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; the load client shares the machine")
    results = {}
    if not args.no_sqlite:
        results["SQLite"] = run_backend("SQLite", "", args)
    if not args.no_postgres:
        results["PostgreSQL"] = run_backend("PostgreSQL", args.postgres, args)
    print(
        f"\n{args.persons:,} persons, {args.audit:,} audit records; best of {args.rounds} alternating rounds of "
        f"{args.seconds:g} s, load average {os.getloadavg()[0]:.1f} at the end\n"
    )
    print(_table(results, args))


if __name__ == "__main__":
    main()
