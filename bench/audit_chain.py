"""The audit chain's append rate beside plain inserts of the same rows (issue 15).

`python -m bench.audit_chain [--seconds 3] [--rounds 3]` (PostgreSQL). One transaction
per entry, as one audited request commits one: BEGIN, the entry, COMMIT.

- plain: the same row (hash computed as for the chain) INSERTed into a copy of
  audit_entries with its indexes, its seq from a sequence: no chain lock, no head.
- chain, 1 practice: `audit.record` + commit, every worker on one practice's chain,
  sealed inline (the commit locks the chain, reads its head, appends).
- chain, 16 practices: the same, worker i on practice i mod 16 (at concurrency 1 the
  one worker cycles through the 16).
- deferred, 1 practice / 16 practices: the same with AUDIT_SEALING=deferred (the commit
  queues its entry in audit_pending), while a sealer process seals every second as an
  app process's sealer thread does (its CPU counts against the rate). The backlog left
  at the end of each run is sealed then, and that time is added to the run's: the rate
  is of entries on their chains, not only queued.

Concurrency 1, 4 and 16, in separate worker processes (no GIL between them), each
configuration run `--rounds` times, rounds interleaved; medians. Targets: 16 practices
at concurrency 16 at least 0.7x plain; one practice at concurrency 16 no lower than at 1.

The same statements are then run by pgbench (no Python on the client side, so what is
left is the database's own cost and the chain lock): plain, 16 practices (client i on
practice i mod 16), 1 practice, and 1 practice with COMMIT in a round trip of its own
after the append (how the chain committed before issue 15).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.common import bench_app, machine, replace_section, scratch_url
from practice.audit import service as audit
from practice.database import driver_connection, utcnow
from practice.extensions import db
from practice.keys.keyring import generate_keyring

HEADING = "## Audit chain append rate"
CONCURRENCY = (1, 4, 16)
PRACTICES = 16
MODES = (
    "plain",
    "chain, 1 practice",
    "chain, 16 practices",
    "deferred, 1 practice",
    "deferred, 16 practices",
)
PLAIN = (
    "INSERT INTO bench_plain (chain_id, occurred_at, practice_id, actor_id, action, "
    "object_type, object_id, address, outcome, prev_hash, entry_hash) VALUES (%(chain_id)s, "
    "%(occurred_at)s, %(practice_id)s, %(actor_id)s, %(action)s, %(object_type)s, "
    "%(object_id)s, %(address)s, %(outcome)s, %(prev_hash)s, %(entry_hash)s)"
)


def _plain_row(practice_id: uuid.UUID, key: bytes) -> dict:
    row = {
        "seq": 0,
        "chain_id": practice_id,
        "occurred_at": utcnow(),
        "practice_id": practice_id,
        "actor_id": None,
        "action": "bench.append",
        "object_type": "thing",
        "object_id": str(uuid.uuid4()),
        "address": "192.0.2.1",
        "outcome": "success",
        "prev_hash": audit.GENESIS,
    }
    row["entry_hash"] = audit.entry_hash(audit.GENESIS, audit.hashed_fields(_Row(row)), key)
    del row["seq"]
    return row


class _Row:
    def __init__(self, values: dict):
        self.__dict__.update(values)


def _sealer(url: str, ring: str, running, results) -> None:
    """Seal every second while `running` is set, like an app process's sealer thread."""
    from practice.audit import sealer

    app = bench_app(url, Path(ring))
    with app.app_context():
        results.put("ready")
        while True:
            running.wait()
            sealer.seal()
            if not running.is_set():
                continue
            time.sleep(1.0)


def _worker(url: str, ring: str, practices: list, commands, results) -> None:
    app = bench_app(url, Path(ring))
    with app.app_context():
        key = audit._key("chain")
        session = db.session
        results.put("ready")
        while True:
            command = commands.get()
            if command is None:
                return
            mode, mine, start_at, seconds = command
            app.config["AUDIT_SEALING"] = "deferred" if mode.startswith("deferred") else "inline"
            ids = [practices[i] for i in mine]
            while time.time() < start_at:
                time.sleep(0.001)
            done, n, stop = 0, 0, start_at + seconds
            while time.time() < stop:
                practice_id = ids[n % len(ids)]
                n += 1
                if mode == "plain":
                    row = _plain_row(practice_id, key)
                    connection = session.connection()
                    with driver_connection(connection) as driver, driver.cursor() as cursor:
                        cursor.execute(PLAIN, row)
                else:
                    audit.record(
                        session,
                        "bench.append",
                        object_type="thing",
                        object_id=uuid.uuid4(),
                        practice_id=practice_id,
                    )
                session.commit()
                done += 1
            results.put(done)


PGBENCH_ROW = (
    "chain_id, seq, occurred_at, practice_id, actor_id, action, object_type, object_id, "
    "address, outcome, prev_hash, entry_hash"
)
PGBENCH = {
    "plain": """\\set n (:client_id % 16) + 1
INSERT INTO bench_plain (chain_id, occurred_at, practice_id, action, object_type, object_id,
  address, outcome, prev_hash, entry_hash)
  SELECT id, now(), id, 'bench.append', 'thing', gen_random_uuid()::text, '192.0.2.1',
  'success', repeat('0', 64), md5(random()::text) || md5(random()::text)
  FROM bench_chains WHERE n = :n;
""",
    "chain": """{pick}
BEGIN;
SELECT c.head_seq AS seq, c.head_hash AS head FROM audit_checkpoint c
  JOIN bench_chains b ON b.id = c.chain_id WHERE b.n = :n FOR UPDATE OF c \\gset
\\startpipeline
INSERT INTO audit_entries ({row})
  SELECT id, :seq + 1, now(), id, NULL, 'bench.append', 'thing', gen_random_uuid()::text,
  '192.0.2.1', 'success', :head, md5(random()::text) || md5(random()::text)
  FROM bench_chains WHERE n = :n;
UPDATE audit_checkpoint SET head_seq = :seq + 1, head_hash = md5(random()::text) ||
  md5(random()::text), signature = repeat('0', 64)
  WHERE chain_id = (SELECT id FROM bench_chains WHERE n = :n);
{commit_in}\\endpipeline
{commit_after}""",
}
PGBENCH_DEFERRED = """{pick}
INSERT INTO audit_pending (id, chain_id, occurred_at, practice_id, action, object_type,
  object_id, address, outcome, mac, key_fingerprint)
  SELECT gen_random_uuid(), id, now(), id, 'bench.append', 'thing', gen_random_uuid()::text,
  '192.0.2.1', 'success', md5(random()::text) || md5(random()::text), md5(random()::text)
  FROM bench_chains WHERE n = :n;
"""
PGBENCH_MODES = {
    "plain": PGBENCH["plain"],
    "chain, 16 practices": PGBENCH["chain"].format(
        pick="\\set n (:client_id % 16) + 1",
        row=PGBENCH_ROW,
        commit_in="COMMIT;\n",
        commit_after="",
    ),
    "chain, 1 practice": PGBENCH["chain"].format(
        pick="\\set n 1", row=PGBENCH_ROW, commit_in="COMMIT;\n", commit_after=""
    ),
    "chain, 1 practice, COMMIT apart": PGBENCH["chain"].format(
        pick="\\set n 1", row=PGBENCH_ROW, commit_in="", commit_after="COMMIT;\n"
    ),
    "deferred, 16 practices": PGBENCH_DEFERRED.format(pick="\\set n (:client_id % 16) + 1"),
    "deferred, 1 practice": PGBENCH_DEFERRED.format(pick="\\set n 1"),
}


def _drain(app) -> int:
    """Seal what a deferred run left waiting, so each run starts with an empty queue;
    how many entries that was (the sealer process's backlog when the run ended)."""
    from practice.audit import sealer

    left = 0
    with app.app_context():
        while sealed := sealer.seal().sealed:
            left += sealed
        db.session.remove()
    return left


def pgbench(dsn: str, workdir: Path, seconds: float, rounds: int) -> dict:
    """Transactions per second of each script at each concurrency (medians)."""
    scripts = {}
    for n, (mode, text) in enumerate(PGBENCH_MODES.items()):
        scripts[mode] = workdir / f"script{n}.sql"
        scripts[mode].write_text(text)
    rates: dict = {}
    for _round in range(rounds):
        for concurrency in CONCURRENCY:
            for mode, script in scripts.items():
                command = ["pgbench", "-n", "-M", "prepared", "-c", str(concurrency)]
                command += ["-j", str(min(concurrency, 4)), "-T", str(max(1, round(seconds)))]
                command += ["-f", str(script), dsn]
                output = subprocess.run(command, capture_output=True, text=True, check=True)
                tps = re.search(r"tps = ([0-9.]+)", output.stdout)
                if tps is None:
                    raise RuntimeError(output.stdout + output.stderr)
                rates.setdefault((mode, concurrency), []).append(float(tps.group(1)))
    return {k: statistics.median(v) for k, v in rates.items()}


def _assignments(mode: str, workers: int) -> list[list[int]]:
    if mode.endswith("1 practice"):
        return [[0] for _ in range(workers)]
    return [[p for p in range(PRACTICES) if p % workers == w] for w in range(workers)]


def bench(seconds: float, rounds: int) -> tuple[dict, str]:
    workdir = Path(tempfile.mkdtemp(prefix="practice-bench-"))
    url, drop = scratch_url("postgresql", workdir)
    ring = workdir / "keyring.json"
    generate_keyring(ring)
    context = mp.get_context("spawn")
    try:
        app = bench_app(url, ring)
        with app.app_context():
            import flask_migrate

            from practice.auth.service import create_practice

            flask_migrate.upgrade()
            practices = [
                create_practice(f"Bench Practice {n}", "Europe/Berlin").id for n in range(PRACTICES)
            ]
            db.session.commit()
            db.session.execute(
                sa.text("CREATE TABLE bench_plain (LIKE audit_entries INCLUDING ALL)")
            )
            db.session.execute(sa.text("CREATE SEQUENCE bench_plain_seq"))
            db.session.execute(
                sa.text("ALTER TABLE bench_plain ALTER seq SET DEFAULT nextval('bench_plain_seq')")
            )
            db.session.execute(sa.text("ALTER TABLE bench_plain DROP CONSTRAINT bench_plain_pkey"))
            db.session.execute(sa.text("ALTER TABLE bench_plain ADD PRIMARY KEY (seq)"))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        commands = [context.Queue() for _ in range(max(CONCURRENCY))]
        results = context.Queue()
        workers = [
            context.Process(target=_worker, args=(url, str(ring), practices, commands[i], results))
            for i in range(max(CONCURRENCY))
        ]
        running = context.Event()
        ready = context.Queue()
        sealing = context.Process(target=_sealer, args=(url, str(ring), running, ready))
        for worker in [*workers, sealing]:
            worker.start()
        for _ in workers:
            results.get(timeout=300)
        ready.get(timeout=300)
        rates: dict = {}
        loads = []
        backlog: list[int] = []  # entries still waiting when a deferred run ended
        for _round in range(rounds):
            for concurrency in CONCURRENCY:
                for mode in MODES:
                    plan = _assignments(mode, concurrency)
                    start_at = time.time() + 0.3
                    if mode.startswith("deferred"):
                        running.set()
                    for i in range(concurrency):
                        commands[i].put((mode, plan[i], start_at, seconds))
                    done = sum(results.get(timeout=seconds + 120) for _ in range(concurrency))
                    running.clear()
                    spent = seconds
                    if mode.startswith("deferred"):
                        # What the sealer had not sealed yet is sealed now, on the clock:
                        # the rate is of entries sealed, not only queued.
                        drained = time.perf_counter()
                        backlog.append(_drain(app))
                        spent += time.perf_counter() - drained
                    rates.setdefault((mode, concurrency), []).append(done / spent)
                    loads.append(os.getloadavg()[0])
        for queue in commands:
            queue.put(None)
        sealing.terminate()
        for worker in workers:
            worker.join(timeout=30)
        with app.app_context():
            from practice.audit.verify import verify_chain

            result = verify_chain(db.session)
            assert result.ok, result.problem
            verified = result.checked
            db.session.execute(sa.text("CREATE TABLE bench_chains (n int PRIMARY KEY, id uuid)"))
            for n, practice_id in enumerate(practices, start=1):
                db.session.execute(
                    sa.text("INSERT INTO bench_chains VALUES (:n, :id)"),
                    {"n": n, "id": practice_id},
                )
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        print({f"{mode} c{c}": [round(r) for r in runs] for (mode, c), runs in rates.items()})
        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        statements = pgbench(dsn, workdir, seconds, rounds)
        loads.append(os.getloadavg()[0])
    finally:
        drop()
    medians = {k: statistics.median(v) for k, v in rates.items()}
    load = f"{min(loads):.1f}-{max(loads):.1f}"
    return (
        medians,
        statements,
        f"{load} (1-minute load average during the runs); {verified} entries verified after "
        f"the Python runs; at the end of each deferred run at most {max(backlog)} entries "
        f"(median {statistics.median(backlog):.0f}) still waited for the sealer",
    )


def write_results(
    medians: dict, statements: dict, load: str, seconds: float, rounds: int, start: str
) -> str:
    lines = [
        HEADING,
        "",
        f"Run {start} with `python -m bench.audit_chain --seconds {seconds:g} --rounds {rounds}` "
        f"on {machine()}; load {load}. PostgreSQL (fsync and synchronous_commit on), one "
        "transaction per entry, worker processes; medians of the interleaved rounds, "
        "entries per second. Inline: the commit locks its chain and appends (AUDIT_SEALING "
        "inline); deferred: the commit queues the entry and a sealer process seals every "
        "second (production's default; the sealer's CPU counts, and the time to seal what "
        "still waited when a run ended is added to that run's).",
        "",
        "| concurrency | " + " | ".join(MODES) + " | deferred 16 ÷ plain | inline 16 ÷ plain |",
        "|---:|" + "---:|" * (len(MODES) + 2),
    ]
    for c in CONCURRENCY:
        values = [medians[(m, c)] for m in MODES]
        plain = medians[("plain", c)]
        ratios = (medians[("deferred, 16 practices", c)] / plain, values[2] / plain)
        lines.append(
            f"| {c} | "
            + " | ".join(f"{v:,.0f}" for v in values)
            + f" | {ratios[0]:.2f} | {ratios[1]:.2f} |"
        )
    lines += ["", _targets(medians, "deferred"), _targets(medians, "chain"), ""]
    lines += [
        "The same statements by pgbench (`-M prepared`; inline: the append, checkpoint move "
        "and COMMIT in one pipeline as the app sends them; deferred: the queued insert only, "
        "as pgbench cannot compute the entries' HMACs the sealer checks, so its sealing is "
        "not in these numbers), transactions per second:",
        "",
        "| concurrency | " + " | ".join(PGBENCH_MODES) + " | deferred 16 ÷ plain |",
        "|---:|" + "---:|" * (len(PGBENCH_MODES) + 1),
    ]
    for c in CONCURRENCY:
        values = [statements[(m, c)] for m in PGBENCH_MODES]
        ratio = statements[("deferred, 16 practices", c)] / statements[("plain", c)]
        lines.append(f"| {c} | " + " | ".join(f"{v:,.0f}" for v in values) + f" | {ratio:.2f} |")
    lines += ["", _targets(statements, "deferred"), _targets(statements, "chain"), ""]
    return replace_section(HEADING, "\n".join(lines))


def _targets(rates: dict, kind: str) -> str:
    ratio = rates[(f"{kind}, 16 practices", 16)] / rates[("plain", 16)]
    one = rates[(f"{kind}, 1 practice", 16)] / rates[(f"{kind}, 1 practice", 1)]
    name = "Deferred" if kind == "deferred" else "Inline"
    # In the pgbench table "deferred" is the queued insert alone (see above).
    return (
        f"{name}: 16 practices at concurrency 16 ≥ 0.7x plain: {ratio:.2f}x "
        f"({'met' if ratio >= 0.7 else 'not met'}); one practice at concurrency 16 no lower "
        f"than at 1: {one:.2f}x ({'met' if one >= 1 else 'not met'})."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    medians, statements, load = bench(args.seconds, args.rounds)
    print(write_results(medians, statements, load, args.seconds, args.rounds, start))


if __name__ == "__main__":
    main()
