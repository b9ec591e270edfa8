"""Benchmark: each clinician page's server time beside the API call returning the same
data, measured side by side (interleaved) in one run, through the Flask test client.

    python -m bench.web_pages [--notes 300] [--repeats 15] [--databases sqlite,postgresql]

The client has `--notes` signed weekly notes (bench.themes.seed). Pages and API calls
authenticate with the same session cookie (pages take nothing else; the API takes it
too), so neither pays for a credential the other does not. Appends the medians to
bench/RESULTS.md as a dated "Web pages" section.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from bench.common import machine, replace_section, scratch_app
from bench.themes import seed
from practice import login
from practice.auth import sessions
from practice.auth.models import UserSession
from practice.extensions import db
from practice.notes.models import ProcessNote
from practice.scheduling.models import Appointment

SECTION = "## Web pages"
TARGET = 1.3


def pairs(client_id, note_id, author_id, week: date) -> list[tuple[str, str, str]]:
    """(what, page URL, API URL returning the same data)."""
    end = week + timedelta(days=7)
    return [
        ("theme history", f"/clients/{client_id}/themes", f"/api/v1/clients/{client_id}/themes"),
        ("one note", f"/notes/{note_id}", f"/api/v1/notes/{note_id}"),
        ("my week", f"/week/{week}",
         f"/api/v1/appointments?clinician_id={author_id}&start={week}T00:00:00%2B01:00"
         f"&end={end}T00:00:00%2B01:00&page_size=200"),
    ]  # fmt: skip


def signed_in(http, user) -> None:
    """A live session for `user` in the test client's cookie, as signing in makes."""
    secret = secrets.token_urlsafe(32)
    record = UserSession(
        user_id=user.id, secret_hash=sessions.digest(secret), csrf_token=secrets.token_urlsafe(32)
    )
    db.session.add(record)
    db.session.commit()
    with http.session_transaction() as cookie:
        cookie[login.SESSION_KEY] = secret


def timed(http, url: str, headers: dict) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one request."""
    wall, cpu = time.perf_counter(), time.process_time()
    response = http.get(url, headers=headers)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert response.status_code == 200, (url, response.status_code)
    response.close()
    return wall, cpu


def bench(kind: str, notes: int, repeats: int) -> list[dict]:
    with scratch_app(kind) as app:
        client, author = seed(notes)
        db.session.commit()
        note_id = db.session.scalar(
            sa.select(ProcessNote.id).where(ProcessNote.client_id == client.id).limit(1)
        )
        headers: dict = {}
        http = app.test_client()
        signed_in(http, author)
        week = db.session.scalar(
            sa.select(sa.func.min(Appointment.starts_at)).where(Appointment.client_id == client.id)
        ).date()
        week -= timedelta(days=week.weekday())
        rows = []
        for what, page, api in pairs(client.id, note_id, author.id, week):
            timed(http, page, headers), timed(http, api, headers)  # warm up
            page_times, api_times = [], []
            for _ in range(repeats):
                page_times.append(timed(http, page, headers))
                api_times.append(timed(http, api, headers))
            rows.append(
                {
                    "database": kind,
                    "what": what,
                    "page": statistics.median(t[0] for t in page_times) * 1000,
                    "api": statistics.median(t[0] for t in api_times) * 1000,
                    "page_cpu": statistics.median(t[1] for t in page_times) * 1000,
                    "api_cpu": statistics.median(t[1] for t in api_times) * 1000,
                }
            )
        return rows


def write_results(rows: list[dict], notes: int, repeats: int) -> str:
    """A new section for this run (earlier runs' sections stay, for comparison)."""
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    heading = f"{SECTION} ({started})"
    lines = [
        heading,
        "",
        f"Server time of a clinician's page beside the API call returning the same data, for a "
        f"client with {notes} signed notes; medians of {repeats} interleaved runs through the "
        f"Flask test client (`python -m bench.web_pages`): wall-clock time, and the CPU time of "
        f"the server process (which time taken by other processes on a loaded machine does not "
        f"inflate; PostgreSQL's own work is outside it). Target: page within {TARGET}x. "
        f"{machine()}.",
        "",
        "| database | page | page ms | API ms | ratio | page CPU ms | API CPU ms | CPU ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['database']} | {row['what']} | {row['page']:.1f} | {row['api']:.1f} | "
            f"{row['page'] / row['api']:.2f} | {row['page_cpu']:.1f} | {row['api_cpu']:.1f} | "
            f"{row['page_cpu'] / row['api_cpu']:.2f} |"
        )
    return replace_section(heading, "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = []
    for kind in args.databases.split(","):
        rows += bench(kind, args.notes, args.repeats)
    print(write_results(rows, args.notes, args.repeats))


if __name__ == "__main__":
    main()
