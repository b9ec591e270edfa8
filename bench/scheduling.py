"""Benchmark: "a clinician's week" and "the practice's day" at 1x and 100x data.

    python -m bench.scheduling [--repeats 200]

Builds two scratch PostgreSQL databases of its own, each with a clinic of 100 clinicians
and 20,000 clients: one with 10,000 appointments (1x), one with 1,000,000 (100x), made by
INSERT ... SELECT generate_series with the exclusion constraints of migration 0002 in
force; the 1x rows are the middle of the 100x calendar. Timed runs alternate between the
two databases, so load from other work on the machine hits both alike. Each clinician
works Mon-Fri, 8 sessions a day, 200 clients of their own, so the
week measured holds 40 appointments and the day 800 at both scales: only the table grows.
Queries go through `appointment_query` and `paginate`, the code behind
GET /api/v1/appointments. Median and p95 over `--repeats` runs, plus the EXPLAIN plans,
go into the "Scheduling" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import sqlalchemy as sa

from bench.common import bench_app, machine, replace_section, scratch_url
from practice.api.common import paginate
from practice.auth.models import Practice, User
from practice.clients.models import Client
from practice.extensions import db
from practice.keys.keyring import generate_keyring
from practice.scheduling.service import appointment_query

SECTION = "## Scheduling"
TARGET = 1.3
CLINICIANS, CLIENTS_EACH, SLOTS_A_DAY = 100, 200, 8
PER_DAY = CLINICIANS * SLOTS_A_DAY
BASE = datetime(2020, 1, 6, tzinfo=UTC)  # a Monday; working day d is BASE + d (skipping weekends)
FULL = 1_000_000
SMALL = 10_000
# The 1x rows sit in the middle of the 100x range, so the measured week is surrounded.
MIDDLE = FULL // 2
MEASURED_DAY = MIDDLE // PER_DAY  # working day 625, a Monday
BATCH = 100_000

APPOINTMENTS_SQL = """
INSERT INTO appointments (id, practice_id, client_id, clinician_id, room_id, series_id,
    series_index, detached, starts_at, ends_at, kind, modality, status, cancelled_by,
    cancel_category, status_changed_at, created_at, updated_at)
SELECT gen_random_uuid(), :practice_id, cl.id, c.id, NULL, NULL, NULL, false, t.s,
    t.s + interval '50 minutes', 'individual', 'in_person',
    CASE WHEN g.i % 10 = 0 THEN 'cancelled' ELSE 'attended' END, NULL, NULL, NULL, now(), now()
FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint) - 1) AS g(i)
CROSS JOIN LATERAL (SELECT g.i % 100 AS c, (g.i / 100) % 8 AS slot, g.i / 800 AS day) AS p
JOIN bench_clinicians c ON c.n = p.c
JOIN bench_clients cl ON cl.n = p.c * 200 + (p.day * 8 + p.slot) % 200
CROSS JOIN LATERAL (
    SELECT CAST(:base AS timestamptz) + ((p.day / 5) * 7 + p.day % 5) * interval '1 day'
        + (8 + p.slot) * interval '1 hour' AS s
) AS t
"""


def working_day(day: int) -> datetime:
    return BASE + timedelta(days=(day // 5) * 7 + day % 5)


def seed_people() -> tuple[User, list[User]]:
    """The practice, its owner, 100 clinicians and 20,000 clients (no password hashing)."""
    practice = Practice(id=uuid.uuid4(), name="Bench Clinic", timezone="Europe/Berlin")
    db.session.add(practice)
    db.session.flush()

    def person(n: int, role: str) -> User:
        return User(
            id=uuid.uuid4(), practice_id=practice.id, email=f"{role}{n}@bench.test",
            name=f"Bench {role} {n}", role_names=role, password_hash="!",
        )  # fmt: skip

    owner = person(0, "owner")
    clinicians = [person(n, "clinician") for n in range(CLINICIANS)]
    db.session.add_all([owner, *clinicians])
    db.session.flush()
    clients = [
        {
            "id": uuid.uuid4(),
            "practice_id": practice.id,
            "first_name": "Bench",
            "last_name": f"Client{n:05d}",
            "primary_clinician_id": clinicians[n // 200].id,
            "status": "active",
        }
        for n in range(CLINICIANS * CLIENTS_EACH)
    ]
    db.session.execute(sa.insert(Client), clients)
    db.session.execute(sa.text("CREATE TABLE bench_clinicians (n int PRIMARY KEY, id uuid)"))
    db.session.execute(sa.text("CREATE TABLE bench_clients (n int PRIMARY KEY, id uuid)"))
    db.session.execute(
        sa.text("INSERT INTO bench_clinicians VALUES (:n, :id)"),
        [{"n": n, "id": c.id} for n, c in enumerate(clinicians)],
    )
    db.session.execute(
        sa.text("INSERT INTO bench_clients VALUES (:n, :id)"),
        [{"n": n, "id": c["id"]} for n, c in enumerate(clients)],
    )
    db.session.commit()
    return owner, clinicians


def add_appointments(practice_id: uuid.UUID, lo: int, hi: int) -> None:
    """Rows lo..hi-1 of the generated calendar, committed in batches, then ANALYZE."""
    for start in range(lo, hi, BATCH):
        params = {"practice_id": practice_id, "lo": start, "hi": min(hi, start + BATCH)}
        db.session.execute(sa.text(APPOINTMENTS_SQL), {**params, "base": BASE})
        db.session.commit()
    db.session.execute(sa.text("ANALYZE appointments"))
    db.session.commit()


def queries(owner: User, clinicians: list[User], run: int) -> dict[str, tuple]:
    """The two calendar views for run number `run` (varying clinician and day)."""
    monday = working_day(MEASURED_DAY - 5)
    day = working_day(MEASURED_DAY - 4 + run % 8)
    week = {"clinician_id": clinicians[run % CLINICIANS].id, "start": monday,
            "end": monday + timedelta(days=7)}  # fmt: skip
    return {
        "week": (appointment_query(owner, week), 50),
        "day": (appointment_query(owner, {"start": day, "end": day + timedelta(days=1)}), 200),
    }


def _one_run(owner_id, clinician_ids, run: int) -> dict[str, tuple[float, int]]:
    """Time both views once on a fresh session: name -> (milliseconds, total rows)."""
    owner = db.session.get(User, owner_id)
    clinicians = [db.session.get(User, i) for i in clinician_ids]
    timings = {}
    for name, (query, size) in queries(owner, clinicians, run).items():
        start = time.perf_counter()
        page = paginate(query, {"page": 1, "page_size": size})
        timings[name] = ((time.perf_counter() - start) * 1000, page["total"])
        db.session.expunge_all()
    db.session.remove()
    return timings


def _plans(owner_id, clinician_ids) -> dict[str, tuple[str, float]]:
    """EXPLAIN ANALYZE of each view: (plan text, median server execution ms of 20)."""
    owner = db.session.get(User, owner_id)
    clinicians = [db.session.get(User, i) for i in clinician_ids]
    result = {}
    for name, (query, size) in queries(owner, clinicians, 0).items():
        compiled = query.limit(size).compile(db.engine, compile_kwargs={"literal_binds": True})
        explain = f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {compiled}"
        runs = []
        for _ in range(20):
            lines = [line for (line,) in db.session.execute(sa.text(explain))]
            runs.append(float(lines[-1].split(":")[1].split()[0]))
        result[name] = ("\n".join(lines), statistics.median(runs))
    db.session.remove()
    return result


def time_views(apps: dict, ids: dict, repeats: int) -> dict[str, dict]:
    """Alternate runs between the 1x and 100x databases, so load on the machine hits both
    alike; median and p95 (ms) per view and scale, plus plans."""
    samples = {(scale, view): [] for scale in apps for view in ("week", "day")}
    rows = {}
    for run in range(-20, repeats):  # 20 warm-up runs
        for scale, app in apps.items():
            with app.app_context():
                for view, (ms, total) in _one_run(*ids[scale], run).items():
                    rows[(scale, view)] = total
                    if run >= 0:
                        samples[(scale, view)].append(ms)
    result: dict[str, dict] = {}
    for scale, app in apps.items():
        with app.app_context():
            plans = _plans(*ids[scale])
        for view in ("week", "day"):
            ordered = sorted(samples[(scale, view)])
            result.setdefault(scale, {})[view] = {
                "median": statistics.median(ordered),
                "p95": ordered[max(0, int(len(ordered) * 0.95) - 1)],
                "rows": rows[(scale, view)],
                "plan": plans[view][0],
                "server": plans[view][1],
            }
    return result


def build(url: str, ring: Path, lo_hi: list[tuple[int, int]]):
    """A migrated app on `url` with the clinic and the appointment rows in `lo_hi`."""
    app = bench_app(url, ring)
    with app.app_context():
        flask_migrate.upgrade()
        owner, clinicians = seed_people()
        ids = (owner.id, [c.id for c in clinicians])
        for lo, hi in lo_hi:
            add_appointments(owner.practice_id, lo, hi)
        total = db.session.scalar(sa.text("SELECT count(*) FROM appointments"))
        db.session.remove()
    return app, ids, total


def run(repeats: int) -> dict:
    """Build the 1x and 100x databases, time both views, drop the databases."""
    with tempfile.TemporaryDirectory(prefix="practice-bench-") as tmp:
        ring = Path(tmp) / "keyring.json"
        generate_keyring(ring)
        small_url, drop_small = scratch_url("postgresql", Path(tmp))
        large_url, drop_large = scratch_url("postgresql", Path(tmp))
        apps: dict = {}
        try:
            lo, hi = MIDDLE - SMALL // 2, MIDDLE + SMALL // 2
            small, small_ids, _ = build(small_url, ring, [(lo, hi)])
            apps["small"] = small
            started = time.perf_counter()
            large, large_ids, total = build(large_url, ring, [(0, FULL)])
            generate = time.perf_counter() - started
            apps["large"] = large
            result = time_views(apps, {"small": small_ids, "large": large_ids}, repeats)
        finally:
            for app in apps.values():
                with app.app_context():
                    db.engine.dispose()
            drop_small()
            drop_large()
    return {**result, "total": total, "generate": generate, "repeats": repeats}


def write_results(r: dict) -> str:
    lines = [
        SECTION,
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M UTC} with `python -m bench.scheduling` on "
        f"{machine()}; PostgreSQL, {r['repeats']} timed runs per view after 20 warm-up runs.",
        "",
        "| view | rows | 1x median (ms) | 1x p95 | 100x median (ms) | 100x p95 "
        f"| 100x / 1x (median) | target ≤ {TARGET}x | server execution 1x → 100x (ms) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = {"week": "a clinician's week (page of 50)", "day": "the practice's day (page of 200)"}
    for key, label in names.items():
        s, big = r["small"][key], r["large"][key]
        ratio = big["median"] / s["median"]
        lines.append(
            f"| {label} | {big['rows']} | {s['median']:.2f} | {s['p95']:.2f} | "
            f"{big['median']:.2f} | {big['p95']:.2f} | {ratio:.2f} | "
            f"{'met' if ratio <= TARGET else 'MISSED'} | "
            f"{s['server']:.3f} → {big['server']:.3f} |"
        )
    lines += [
        "",
        f"1x = {SMALL:,} appointments; 100x = {r['total']:,} (100 clinicians, 20,000 clients), "
        f"generated in {r['generate']:.0f} s by INSERT ... SELECT generate_series with the "
        "exclusion constraints on, each scale in its own database; timed runs alternate "
        "between the two so load from other work hits both alike. Times include the page's "
        "count query and loading the ORM objects, as in GET /api/v1/appointments (without "
        "HTTP, auth and the audit write); server execution is the median of 20 "
        "EXPLAIN ANALYZE runs of the page query.",
        "",
    ]
    for key, label in names.items():
        lines += [f"Plan at 100x, {label}:", "", "```", r["large"][key]["plan"], "```", ""]
    return replace_section(SECTION, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(write_results(run(args.repeats)))


if __name__ == "__main__":
    main()
