"""Benchmark: theme history with measures beside the same history without them.

    python -m bench.measures [--notes 300] [--repeats 31] [--databases sqlite,postgresql]

One client with `--notes` signed notes (bench.themes.seed: realistic size, three episodes
each) on as many attended appointments, and one PHQ-9 form on each of them (so 300 notes
and 300 scores by default). Measured side by side, interleaved, each run cold (no cached
data key, a new session): the history service with measures and without, then its JSON
(orjson, as the API answers), CSV and SVG. Target (issue 13): with measures at most 1.2 x
without. Appends a "Theme history with measures" section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import sqlalchemy as sa

from bench.common import machine, replace_section, scratch_app
from bench.themes import seed
from practice.clients.models import Client
from practice.extensions import db
from practice.keys import client_keys
from practice.measures import scoring, series
from practice.measures.definitions import instruments
from practice.measures.models import COLUMN, TABLE, MeasureScore
from practice.scheduling.models import Appointment
from practice.themes.formats import history_csv, history_svg
from practice.themes.loader import client_theme_history

SECTION = "## Theme history with measures"
TARGET = 1.2


def add_scores(client: Client, author) -> int:
    """A PHQ-9 form (totals wandering between 3 and 24) on each attended appointment,
    each sealed as record_measure seals it (with its chunk of the series)."""
    phq9 = instruments()["phq9"]
    rows = db.session.execute(
        sa.select(Appointment.id, Appointment.starts_at)
        .where(Appointment.client_id == client.id)
        .order_by(Appointment.starts_at)
    ).all()
    forms, previous_id, previous = [], None, None
    for n, (aid, starts) in enumerate(rows):
        total = 3 + (n * 7) % 22
        answers, left = {}, total
        for item in phq9.item_ids:
            answers[item] = min(3, left)
            left -= answers[item]
        scored = scoring.score(phq9, answers)
        mid = uuid.uuid4()
        # As record_measure seals a form: with its chunk of the series (series.py).
        carried, before = series.next_chunk(previous_id, previous)
        carried[series.key(mid)] = series.entry(scored)
        previous_id = mid
        previous = {"responses": answers, **scored, "series": carried, "before": before}
        sealed = client_keys.seal(client, TABLE, COLUMN, mid, previous)
        forms.append(
            {"id": mid, "practice_id": client.practice_id, "client_id": client.id,
             "appointment_id": aid, "instrument": "phq9", "instrument_version": 1,
             "session_date": starts.date(), "recorded_by": author.id, "responses": sealed,
             "created_at": datetime.now(UTC) + timedelta(microseconds=n)}
        )  # fmt: skip
    db.session.execute(sa.insert(MeasureScore.__table__), forms)
    db.session.commit()
    return len(forms)


def timed(fns: dict, repeats: int) -> dict[str, float]:
    """Median wall-clock and CPU milliseconds of each function ("<name>" and
    "<name>_cpu"), each run cold (no cached key, a fresh session), interleaved: every
    round runs each function once, starting at a different one. The CPU time is this
    process's own, which other processes on a loaded machine do not inflate (the
    database server's work, for PostgreSQL, is outside it)."""
    names = list(fns)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            db.session.remove()
            client_keys.forget_keys()
            start, start_cpu = time.perf_counter(), time.process_time()
            fns[name]()
            cpu[name].append((time.process_time() - start_cpu) * 1000)
            wall[name].append((time.perf_counter() - start) * 1000)
    medians = {name: statistics.median(values) for name, values in wall.items()}
    medians |= {f"{name}_cpu": statistics.median(values) for name, values in cpu.items()}
    return medians


def bench(kind: str, count: int, repeats: int) -> dict:
    with scratch_app(kind):
        client, author = seed(count)
        scores = add_scores(client, author)
        ids = (client.id, author.id)

        def history(with_measures: bool):
            row = db.session.get(Client, ids[0])
            return client_theme_history(row, {ids[1]}, "Europe/Berlin", with_measures=with_measures)

        with_ = history(True)
        without = history(False)
        assert with_["sessions"] == without["sessions"] == count
        assert len(with_["measures"][0]["scores"]) == scores
        assert "measures" not in without
        result = timed(
            {
                "json_without": lambda: orjson.dumps(history(False)),
                "json_with": lambda: orjson.dumps(history(True)),
                "csv_without": lambda: history_csv(history(False)),
                "csv_with": lambda: history_csv(history(True)),
                "svg_without": lambda: history_svg(history(False)),
                "svg_with": lambda: history_svg(history(True)),
            },
            repeats,
        )
    return {"kind": kind, "notes": count, "scores": scores, **result,
            "load_end": os.getloadavg()[0]}  # fmt: skip


def write_results(rows: list[dict], repeats: int, started: str) -> str:
    lines = [
        SECTION,
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M UTC} with `python -m bench.measures` on "
        f"{started}. Median of {repeats} cold runs (no cached data key, a new session), "
        "interleaved (each round runs every column once), milliseconds. The history "
        "service (`client_theme_history`) with its scores on the session axis beside the "
        "same history without them, each then rendered as the API renders it. Target "
        f"(issue 13): with measures at most {TARGET} x without.",
        "",
        "| database | signed notes | PHQ-9 scores | output | without ms | with ms | ratio "
        "| without CPU ms | with CPU ms | CPU ratio | met (wall) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        for fmt in ("json", "csv", "svg"):
            ratio = r[f"{fmt}_with"] / r[f"{fmt}_without"]
            cpu = r[f"{fmt}_with_cpu"] / r[f"{fmt}_without_cpu"]
            lines.append(
                f"| {r['kind']} | {r['notes']:,} | {r['scores']:,} | {fmt.upper()} "
                f"| {r[f'{fmt}_without']:.1f} | {r[f'{fmt}_with']:.1f} | {ratio:.2f} x "
                f"| {r[f'{fmt}_without_cpu']:.1f} | {r[f'{fmt}_with_cpu']:.1f} | {cpu:.2f} x "
                f"| {'yes' if ratio <= TARGET else 'NO'} |"
            )
    lines += [
        "",
        "1-minute load average at the end of each database's run: "
        + ", ".join(f"{r['kind']} {r['load_end']:.1f}" for r in rows)
        + ". The scores cost one more query, about ten small decryptions (each form carries "
        "a chunk of the series, so 300 scores open 10 values: practice/measures/series.py) "
        "and placing them on the axis.",
        "",
    ]
    return replace_section(SECTION, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--no-write", action="store_true", help="print, do not edit RESULTS.md")
    args = parser.parse_args()
    started = machine()
    rows = [bench(kind, args.notes, args.repeats) for kind in args.databases.split(",")]
    if args.no_write:
        print(rows)
    else:
        write_results(rows, args.repeats, started)
        print(f"wrote {SECTION!r} into bench/RESULTS.md")


if __name__ == "__main__":
    main()
