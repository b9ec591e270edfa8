"""Benchmark: each clinician page's server time beside the API call returning the same
data, measured side by side (interleaved) in one run, through the Flask test client.

    python -m bench.web_pages [--notes 300] [--repeats 15] [--databases sqlite,postgresql]

The client has `--notes` signed weekly notes (bench.themes.seed). Pages and API calls
authenticate with the same bearer token (pages accept it like the API), so neither pays
for a session cookie the other does not. Writes the medians into the "Web pages" section
of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import sqlalchemy as sa

from bench.common import machine, replace_section, scratch_app
from bench.themes import seed
from practice.auth import service as auth_service
from practice.extensions import db
from practice.notes.models import ProcessNote

SECTION = "## Web pages"
TARGET = 1.3


def pairs(client_id, note_id, week: str) -> list[tuple[str, str, str]]:
    """(what, page URL, API URL returning the same data)."""
    return [
        ("theme history", f"/clients/{client_id}/themes", f"/api/v1/clients/{client_id}/themes"),
        ("one note", f"/notes/{note_id}", f"/api/v1/notes/{note_id}"),
        ("my week", f"/week/{week}",
         f"/api/v1/appointments?start={week}T00:00:00Z&end={week}T23:59:59Z&page_size=200"),
    ]  # fmt: skip


def timed(http, url: str, headers: dict) -> float:
    started = time.perf_counter()
    response = http.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    response.close()
    return elapsed


def bench(kind: str, notes: int, repeats: int) -> list[dict]:
    with scratch_app(kind) as app:
        client, author = seed(notes)
        _token, secret = auth_service.issue_api_token(author, "bench")
        db.session.commit()
        note_id = db.session.scalar(
            sa.select(ProcessNote.id).where(ProcessNote.client_id == client.id).limit(1)
        )
        headers = {"Authorization": f"Bearer {secret}"}
        http = app.test_client()
        rows = []
        for what, page, api in pairs(client.id, note_id, "2005-01-03"):
            timed(http, page, headers), timed(http, api, headers)  # warm up
            page_times, api_times = [], []
            for _ in range(repeats):
                page_times.append(timed(http, page, headers))
                api_times.append(timed(http, api, headers))
            page_ms = statistics.median(page_times) * 1000
            api_ms = statistics.median(api_times) * 1000
            rows.append({"database": kind, "what": what, "page": page_ms, "api": api_ms})
        return rows


def write_results(rows: list[dict], notes: int, repeats: int) -> str:
    lines = [
        SECTION,
        "",
        f"Server time of a clinician's page beside the API call returning the same data, for a "
        f"client with {notes} signed notes; medians of {repeats} interleaved runs through the "
        f"Flask test client (`python -m bench.web_pages`). Target: page within {TARGET}x. "
        f"{machine()}.",
        "",
        "| database | page | page ms | API ms | ratio | met |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        ratio = row["page"] / row["api"]
        lines.append(
            f"| {row['database']} | {row['what']} | {row['page']:.1f} | {row['api']:.1f} | "
            f"{ratio:.2f} | {'yes' if ratio <= TARGET else 'no'} |"
        )
    return replace_section(SECTION, "\n".join(lines) + "\n")


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
