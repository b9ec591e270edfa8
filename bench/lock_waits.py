"""Lock waits under gunicorn (issue 15): 16 concurrent signed-note reads.

`python -m bench.lock_waits [--seconds 8] [--rounds 3]`: the app under gunicorn in its
production configuration (4 gthread workers x 4 threads, PostgreSQL, Redis rate limits),
16 client threads each reading a signed note with a bearer token, every read audited.
Side by side in one run, rounds interleaved:

- 16 practices: thread i reads practice i's note (the target: ≤ 5 % of sampled backends
  waiting on a lock);
- 1 practice: all 16 read the same practice's note (every audit append on one chain,
  as every request of a deployment was before migration 0013).

While the load runs, `pg_stat_activity` is sampled every 20 ms; a backend counts when it
is in a request (active or idle in transaction), and waits on a lock when its
wait_event_type is 'Lock'.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from bench.common import bench_app, machine, replace_section, scratch_url
from practice.extensions import db
from practice.keys.keyring import generate_keyring

HEADING = "## Lock waits under gunicorn"
ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "gunicorn")
THREADS = 16
PRACTICES = 16


def seed(count: int) -> list[tuple[str, str]]:
    """(note id, bearer secret) of one signed note's author in each of `count` practices."""
    from practice.auth import service as auth_service
    from practice.notes import service as notes
    from tests.factories import make_client, make_practice, make_user

    readers = []
    for n in range(count):
        practice = make_practice(f"Bench Practice {n}")
        author = make_user(practice, ("clinician",))
        client = make_client(practice, author)
        note = notes.create_note(author, client, date(2026, 3, 2), {})
        notes.sign_note(note)
        _token, secret = auth_service.issue_api_token(author, "bench")
        db.session.commit()
        readers.append((str(note.id), secret))
    return readers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(url: str, ring: Path, workdir: Path, port: int) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PRACTICE_", "FLASK_"))},
        "PRACTICE_CONFIG": "production",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "DATABASE_URL": url,
        "PRACTICE_KEYRING": str(ring),
        "PRACTICE_INSTANCE_PATH": str(workdir / "instance"),
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/14",
        "PYTHONPATH": str(ROOT),
    }
    command = [GUNICORN, "-w", "4", "-k", "gthread", "--threads", "4"]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status in (200, 503):
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("gunicorn did not start: " + (server.stderr.read() if server.stderr else ""))


def sample(dsn: str, stop: threading.Event, counts: dict) -> None:
    query = (
        "SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            for state, wait in conn.execute(query).fetchall():
                if state in ("active", "idle in transaction"):
                    counts["busy"] += 1
                    counts["lock"] += wait == "Lock"
            counts["samples"] += 1
            time.sleep(0.02)


def load(port: int, readers: list, seconds: float) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def run(i: int) -> None:
        note_id, secret = readers[i % len(readers)]
        headers = {"Authorization": f"Bearer {secret}"}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        start.wait()
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            began = time.monotonic()
            connection.request("GET", f"/api/v1/notes/{note_id}", headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.monotonic() - began)
            bad += response.status != 200
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), latencies, errors[0]


def bench(seconds: float, rounds: int) -> tuple[list[dict], str]:
    workdir = Path(tempfile.mkdtemp(prefix="practice-bench-"))
    url, drop = scratch_url("postgresql", workdir)
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    ring = workdir / "keyring.json"
    generate_keyring(ring)
    server = None
    try:
        app = bench_app(url, ring)
        with app.app_context():
            import flask_migrate

            flask_migrate.upgrade()
            readers = seed(PRACTICES)
            db.session.remove()
            db.engine.dispose()
        port = free_port()
        server = start_gunicorn(url, ring, workdir, port)
        load(port, readers, 2.0)  # warm every worker's pool and caches
        plans = {"16 practices": readers, "1 practice": readers[:1]}
        results: dict = {name: [] for name in plans}
        loads = []
        for _round in range(rounds):
            for name, plan in plans.items():
                counts = {"busy": 0, "lock": 0, "samples": 0}
                stop = threading.Event()
                sampler = threading.Thread(target=sample, args=(dsn, stop, counts))
                sampler.start()
                done, latencies, errors = load(port, plan, seconds)
                stop.set()
                sampler.join()
                loads.append(os.getloadavg()[0])
                results[name].append((done, latencies, errors, counts))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop()
    rows = []
    for name, runs in results.items():
        latencies = sorted(v for run in runs for v in run[1])
        busy = sum(run[3]["busy"] for run in runs)
        waiting = sum(run[3]["lock"] for run in runs)
        rows.append(
            {
                "name": name,
                "rps": statistics.median(run[0] / seconds for run in runs),
                "p50": latencies[len(latencies) // 2] * 1000,
                "p99": latencies[int(len(latencies) * 0.99)] * 1000,
                "errors": sum(run[2] for run in runs),
                "busy": busy,
                "lock": waiting,
                "share": waiting / busy if busy else 0.0,
                "samples": sum(run[3]["samples"] for run in runs),
            }
        )
    return rows, f"{min(loads):.1f}-{max(loads):.1f}"


def write_results(rows: list[dict], load: str, seconds: float, rounds: int, start: str) -> str:
    lines = [
        HEADING,
        "",
        f"Run {start} with `python -m bench.lock_waits --seconds {seconds:g} --rounds {rounds}` "
        f"on {machine()}; load {load} (1-minute load average after each run). gunicorn, 4 "
        "gthread workers x 4 threads, production config, PostgreSQL, Redis; 16 client "
        "threads reading a signed note each (bearer token; every read audited); "
        "pg_stat_activity sampled every 20 ms while the load ran.",
        "",
        "| notes read from | requests/s (median of rounds) | p50 ms | p99 ms | non-200 | "
        "backend samples in a request | of them waiting on a lock |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['rps']:,.0f} | {row['p50']:.1f} | {row['p99']:.1f} | "
            f"{row['errors']} | {row['busy']:,} | {row['lock']:,} ({row['share']:.1%}) |"
        )
    many = rows[0]
    lines += [
        "",
        f"Target: ≤ 5 % of sampled backends waiting on a lock with 16 practices: "
        f"{many['share']:.1%} ({'met' if many['share'] <= 0.05 else 'not met'}).",
        "",
    ]
    return replace_section(HEADING, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows, load = bench(args.seconds, args.rounds)
    print(write_results(rows, load, args.seconds, args.rounds, start))


if __name__ == "__main__":
    main()
