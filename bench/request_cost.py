"""What an authenticated, audited read costs beside a bare one (issue 15).

`python -m bench.request_cost [--seconds 5] [--rounds 3]`: the app (production config,
bearer token, every read audited) and bench/bare_app.py (Flask and raw psycopg, the same
query, nothing else) under the same gunicorn (4 gthread workers x 4 threads each), 4
client threads, rounds interleaved; medians of requests per second. Target (issue 15):
the app at least 0.5x the bare endpoint. Reads: a signed note, the client list, and a
clinician's week (20 appointments). `--no-write` prints the section without writing
bench/RESULTS.md (development runs).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.common import bench_app, machine, replace_section, scratch_url
from bench.lock_waits import GUNICORN, ROOT, free_port, start_gunicorn
from practice.extensions import db
from practice.keys.keyring import generate_keyring

HEADING = "## Request cost against a bare endpoint"
CLIENTS = 4
WEEK = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
READS = ("signed note", "client list", "week")
WEEK_RANGE = "start=2026-03-02T00:00:00Z&end=2026-03-09T00:00:00Z"


def seed() -> dict:
    from practice.auth import service as auth_service
    from practice.notes import service as notes
    from tests.factories import make_appointment, make_client, make_practice, make_user

    practice = make_practice("Bench Practice")
    author = make_user(practice, ("clinician",))
    clients = [make_client(practice, author) for _ in range(20)]
    note = notes.create_note(author, clients[0], date(2026, 3, 2), {})
    notes.sign_note(note)
    for i in range(20):  # the week: four sessions a day, Monday to Friday
        start = WEEK + timedelta(days=i // 4, hours=9 + 2 * (i % 4))
        make_appointment(clients[i], author, starts_at=start)
    _token, secret = auth_service.issue_api_token(author, "bench")
    db.session.commit()
    return {
        "note": str(note.id),
        "practice": str(practice.id),
        "clinician": str(author.id),
        "secret": secret,
    }


def start_bare(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    command = [GUNICORN, "-w", "4", "-k", "gthread", "--threads", "4"]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "bench.bare_app:app"]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def load(port: int, path: str, headers: dict, seconds: float) -> tuple[float, int]:
    counts, bad = [0] * CLIENTS, [0] * CLIENTS
    start = threading.Barrier(CLIENTS)

    def run(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            counts[i] += 1
            bad[i] += response.status != 200

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds, sum(bad)


def _wait(port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/bare/notes/00000000-0000-0000-0000-000000000000")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the bare server did not start")


def bench(seconds: float, rounds: int) -> tuple[list, str]:
    workdir = Path(tempfile.mkdtemp(prefix="practice-bench-"))
    url, drop = scratch_url("postgresql", workdir)
    ring = workdir / "keyring.json"
    generate_keyring(ring)
    servers = []
    try:
        app = bench_app(url, ring)
        with app.app_context():
            import flask_migrate

            flask_migrate.upgrade()
            seeded = seed()
            db.session.remove()
            db.engine.dispose()
        app_port, bare_port = free_port(), free_port()
        servers.append(start_gunicorn(url, ring, workdir, app_port))
        servers.append(start_bare(url, bare_port))
        _wait(bare_port)
        auth = {"Authorization": f"Bearer {seeded['secret']}"}
        clinician = seeded["clinician"]
        reads = {
            "signed note": (
                (app_port, f"/api/v1/notes/{seeded['note']}", auth),
                (bare_port, f"/bare/notes/{seeded['note']}", {}),
            ),
            "client list": (
                (app_port, "/api/v1/clients", auth),
                (bare_port, f"/bare/clients/{seeded['practice']}", {}),
            ),
            "week": (
                (app_port, f"/api/v1/appointments?clinician_id={clinician}&{WEEK_RANGE}", auth),
                (bare_port, f"/bare/week/{seeded['practice']}/{clinician}?{WEEK_RANGE}", {}),
            ),
        }
        for side in (s for pair in reads.values() for s in pair):
            load(*side, 1.0)  # warm every worker
        rates: dict = {}
        errors = 0
        loads = []
        for _round in range(rounds):
            for name, pair in reads.items():
                for label, side in zip(("app", "bare"), pair, strict=True):
                    rate, bad = load(*side, seconds)
                    rates.setdefault((name, label), []).append(rate)
                    errors += bad
                    loads.append(os.getloadavg()[0])
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        drop()
    rows = []
    for name in READS:
        app_rate = statistics.median(rates[(name, "app")])
        bare_rate = statistics.median(rates[(name, "bare")])
        rows.append((name, app_rate, bare_rate, errors))
    return rows, f"{min(loads):.1f}-{max(loads):.1f}"


def write_results(
    rows: list, load: str, seconds: float, rounds: int, start: str, *, write: bool = True
) -> str:
    lines = [
        HEADING,
        "",
        f"Run {start} with `python -m bench.request_cost --seconds {seconds:g} --rounds {rounds}` "
        f"on {machine()}; load {load} (1-minute load average after each run). Both under "
        "gunicorn (4 gthread workers x 4 threads), PostgreSQL, 4 client threads; the app in "
        "production config with a bearer token, every read audited; the bare endpoint "
        "(bench/bare_app.py) runs the same query with raw psycopg and nothing else. "
        "The week: a clinician's own appointments Monday to Monday (20 of them).",
        "",
        "| read | app requests/s | bare requests/s | app ÷ bare |",
        "|---|---:|---:|---:|",
    ]
    for name, app_rate, bare_rate, _errors in rows:
        lines.append(
            f"| {name} | {app_rate:,.0f} | {bare_rate:,.0f} | {app_rate / bare_rate:.2f} |"
        )
    lines += ["", f"Non-200 answers: {rows[0][3]}. Target: at least 0.5x.", ""]
    section = "\n".join(lines)
    return replace_section(HEADING, section) if write else section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--no-write", action="store_true", help="print the section, leave bench/RESULTS.md"
    )
    args = parser.parse_args()
    start = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows, load = bench(args.seconds, args.rounds)
    print(write_results(rows, load, args.seconds, args.rounds, start, write=not args.no_write))


if __name__ == "__main__":
    main()
