"""Schemathesis against a live server (SECURITY.md item 31): at least 20,000 requests per
database, counting server errors (the target is zero).

    .venv/bin/python -m bench.fuzz_live [--database sqlite|postgresql|both] [--requests N]

For each database: a fresh migrated database seeded with the access-matrix world (a
practice with every persona and one object of every kind, tests/access_world.py), a
threaded werkzeug server on 127.0.0.1 in its own process, then schemathesis' generated
cases (valid and invalid) for every operation of the server's OpenAPI document, sent as
the author (clinician), the owner and the scheduler with their API tokens, and path
parameters naming real objects — round after round with new seeds until the budget is
spent. Rate limiting is off (a 429 would hide the code behind it). Prints the counts and
writes one section per database to bench/RESULTS.md. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.common import machine, replace_section, scratch_url

PERSONAS = ("author", "owner", "scheduler")
DEFAULT_REQUESTS = 20_000
EXAMPLES_PER_ROUND = int(os.environ.get("FUZZ_EXAMPLES_PER_ROUND", "25"))
SERVER_ERROR_LINE = re.compile(r"unhandled \w+ on .*")
# The server's own request log (werkzeug): one line per request, ending in its status.
ACCESS_LINE = re.compile(r'HTTP/1\.[01]\S*" (\d{3}) ')


def overrides(url: str, keyring: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "fuzz-live",
        "PRACTICE_KEYRING": str(keyring),
        "TESTING": False,  # errors go through the app's own handlers, as in production
        "RATELIMIT_ENABLED": False,
    }


def serve(url: str, keyring: Path, port: int) -> None:
    """The server process: the app on 127.0.0.1:`port`, threaded, until killed."""
    import logging

    from werkzeug.serving import make_server

    from practice import create_app

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    app = create_app("testing", overrides(url, keyring))
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def seed(url: str, keyring: Path) -> dict:
    """Migrate and seed the world; returns the personas' headers and the path parameters."""
    import flask_migrate

    from practice import create_app
    from practice.extensions import db
    from tests.access_world import build_world
    from tests.test_fuzz import real_path_parameters

    app = create_app("testing", overrides(url, keyring))
    with app.app_context():
        flask_migrate.upgrade()
        world = build_world(app.test_client())
        db.session.commit()
        # The test suite's real ids, except that the owner's generated PATCH (deactivate,
        # re-role) aims at a user who is not a fuzzing persona, so it cannot end the
        # author's own access half-way through.
        paths = real_path_parameters(world) | {"user_id": str(world.users["supervisor"].id)}
        seeded = {
            "headers": {p: dict(world.headers[p]) for p in PERSONAS},
            "paths": paths,
        }
        db.session.remove()
        db.engine.dispose()
    return seeded


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            requests.get(f"{base}/api/v1/health", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.3)
    raise SystemExit("the server did not start within 60 s")


class Tally:
    """Requests sent, server errors (with one example each), transport failures."""

    def __init__(self) -> None:
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.server_errors: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.transport_errors = 0
        self.operations: set[str] = set()
        self.unauthorised: Counter[str] = Counter()


def fuzz(base: str, seeded: dict, budget: int) -> Tally:
    """Generated cases for every operation, persona and mode until `budget` requests."""
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    tally = Tally()
    session = requests.Session()
    round_number = 0
    while tally.requests < budget:
        round_number += 1
        before = tally.requests
        for operation in operations:
            wanted = {p.name for p in operation.iter_parameters() if p.location == "path"}
            path_parameters = {k: v for k, v in seeded["paths"].items() if k in wanted}
            for persona in PERSONAS:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    strategy = operation.as_strategy(
                        generation_mode=mode, path_parameters=path_parameters or None
                    )
                    headers = seeded["headers"][persona]
                    label = operation.label

                    def send_one(case, headers=headers, label=label, persona=persona):
                        send(case, session, base, (persona, headers), label, tally)

                    if tally.requests >= budget:
                        continue  # spent: the last round stops part-way
                    number = zlib.crc32(f"{label} {persona} {mode.value}".encode())
                    with contextlib.suppress(Unsatisfiable):  # nothing of this mode exists
                        cases(strategy, round_number * 1_000_003 + number, send_one)()
        print(
            f"  round {round_number}: {tally.requests - before} requests "
            f"(total {tally.requests}, server errors {sum(tally.server_errors.values())})",
            flush=True,
        )
    return tally


def cases(strategy, seed_value: int, send_one):
    """A Hypothesis test sending each generated case of `strategy` once."""
    from hypothesis import HealthCheck, given, seed, settings

    @given(case=strategy)
    @seed(seed_value)
    @settings(
        max_examples=EXAMPLES_PER_ROUND,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case):
        send_one(case)

    return run


def send(case, session, base: str, caller: tuple[str, dict], label: str, tally: Tally) -> None:
    persona, headers = caller
    tally.requests += 1
    tally.operations.add(label)
    try:
        response = case.call(base_url=base, session=session, headers=headers, timeout=30)
    except Exception as error:  # a dropped connection is a finding: counted
        tally.transport_errors += 1
        tally.examples.setdefault(f"transport {label}", f"{type(error).__name__}: {error}")
        return
    tally.statuses[response.status_code] += 1
    if response.status_code == 401:
        tally.unauthorised[f"{persona} {label}"] += 1
    if response.status_code >= 500:
        key = f"{response.status_code} {label}"
        tally.server_errors[key] += 1
        tally.examples.setdefault(key, case.as_curl_command(headers=headers)[:2000])


def run_database(kind: str, budget: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="practice-fuzz-") as tmp:
        workdir = Path(tmp)
        url, drop = scratch_url(kind, workdir)
        keyring = workdir / "keyring.json"
        from practice.keys.keyring import generate_keyring

        generate_keyring(keyring)
        try:
            seeded = seed(url, keyring)
            port = free_port()
            log_path = workdir / "server.log"
            with log_path.open("w") as log:
                server = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bench.fuzz_live",
                        "--serve",
                        url,
                        str(keyring),
                        str(port),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
                base = f"http://127.0.0.1:{port}"
                try:
                    wait_until_up(base, server)
                    started = time.monotonic()
                    tally = fuzz(base, seeded, budget)
                    seconds = time.monotonic() - started
                finally:
                    server.terminate()
                    server.wait(timeout=30)
            log_text = log_path.read_text(errors="replace")
            logged = SERVER_ERROR_LINE.findall(log_text)
            served = Counter(int(code) for code in ACCESS_LINE.findall(log_text))
        finally:
            drop()
    return {"kind": kind, "tally": tally, "seconds": seconds, "logged": logged, "served": served}


def report(result: dict, started: str, load: str) -> str:
    tally: Tally = result["tally"]
    served: Counter[int] = result["served"]
    errors = sum(tally.server_errors.values())
    statuses = ", ".join(f"{code}: {n:,}" for code, n in sorted(tally.statuses.items()))
    lines = [
        f"## Live fuzzing ({result['kind']})",
        "",
        f"Run {started} with `python -m bench.fuzz_live --database {result['kind']}` on {load}.",
        "",
        "| requests | operations | server errors (5xx) | requests in the server's log | "
        "5xx in the server's log | logged unhandled errors | transport errors | seconds | "
        "requests/s |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {tally.requests:,} | {len(tally.operations)} | {errors} | "
        f"{sum(served.values()):,} | {sum(n for code, n in served.items() if code >= 500)} | "
        f"{len(result['logged'])} | {tally.transport_errors} | {result['seconds']:.0f} | "
        f"{tally.requests / result['seconds']:.0f} |",
        "",
        f"Responses by status: {statuses}.",
        "",
        "Schemathesis 4 (valid and invalid cases) against a threaded werkzeug server on "
        "127.0.0.1 in its own process, as the author (clinician), the owner and the "
        "scheduler with API tokens; path parameters name real objects; rate limiting off.",
    ]
    for key, count in tally.server_errors.most_common():
        lines.append(f"- {count} x {key}: `{tally.examples[key][:300]}`")
    if tally.unauthorised:
        top = ", ".join(f"{key} ({n})" for key, n in tally.unauthorised.most_common(8))
        lines.append(f"Most frequent 401s (persona, operation): {top}.")
    for line in result["logged"][:20]:
        lines.append(f"- server log: {line}")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS)
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    failed = False
    for kind in kinds:
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        load = machine()
        print(f"{kind}: fuzzing with a budget of {args.requests:,} requests", flush=True)
        result = run_database(kind, args.requests)
        section = report(result, started, load)
        print(section)
        if not args.no_results:
            replace_section(f"## Live fuzzing ({kind})", section)
        served_errors = any(code >= 500 for code in result["served"])
        failed |= bool(result["tally"].server_errors or result["logged"] or served_errors)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
