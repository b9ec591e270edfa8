"""Benchmark: the practice's day page (20 clinicians as columns, 160 appointments) beside
the API call returning the same appointments, side by side (interleaved) in one run,
through the Flask test client, as a scheduler signed in with a session cookie.

    python -m bench.front_desk [--repeats 15] [--databases sqlite,postgresql]

Writes the medians into the "Front desk: the practice's day" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time as clock
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bench.common import machine, replace_section, scratch_app
from practice.auth import passwords
from practice.auth import service as auth_service
from practice.auth.models import User
from practice.clients.models import Client
from practice.extensions import db
from practice.scheduling.models import Appointment, Room

SECTION = "## Front desk: the practice's day"
TARGET = 1.3
ZONE = "Europe/Berlin"
DAY = date(2037, 3, 16)
PASSWORD = "bench desk passphrase 42"
CLINICIANS, PER_CLINICIAN, ROOMS = 20, 8, 6


def seed() -> User:
    """A practice with CLINICIANS clinicians, each with PER_CLINICIAN appointments on DAY
    (hourly from 09:00 local; the first ROOMS clinicians have a room of their own for
    every other one); returns its scheduler."""
    practice = auth_service.create_practice("Bench Desk Practice", ZONE)
    digest = passwords.hash_password(PASSWORD)

    def user(name: str, roles: str) -> User:
        made = User(
            practice_id=practice.id,
            email=f"{uuid.uuid4().hex[:10]}@desk.bench",
            name=name,
            role_names=roles,
            password_hash=digest,
        )
        db.session.add(made)
        return made

    scheduler = user("Desk Person", "scheduler")
    rooms = [Room(practice_id=practice.id, name=f"Room {n}") for n in range(ROOMS)]
    db.session.add_all(rooms)
    db.session.flush()
    zone = ZoneInfo(ZONE)
    for n in range(CLINICIANS):
        clinician = user(f"Clinician {n:02d}", "clinician")
        db.session.flush()
        for k in range(PER_CLINICIAN):
            client = Client(
                practice_id=practice.id,
                first_name=f"Given{n}x{k}",
                last_name=f"Family{n}x{k}",
                primary_clinician_id=clinician.id,
                status="active",
            )
            db.session.add(client)
            db.session.flush()
            start = datetime.combine(DAY, time(9 + k), zone).astimezone(UTC)
            db.session.add(
                Appointment(
                    practice_id=practice.id,
                    client_id=client.id,
                    clinician_id=clinician.id,
                    room_id=rooms[n].id if n < ROOMS and k % 2 == 0 else None,
                    starts_at=start,
                    ends_at=start + timedelta(minutes=50),
                    kind="individual",
                    modality="in_person" if k % 2 == 0 else "video",
                    status="scheduled",
                )
            )
    db.session.commit()
    return scheduler


def sign_in(http, user: User) -> None:
    """Sign in through the sign-in page, as a person does (the session cookie)."""
    form = http.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="login_token" value="([^"]+)"', form).group(1)
    data = {"login_token": token, "email": user.email, "password": PASSWORD}
    assert http.post("/sign-in", data=data).status_code == 302


def interleaved(http, urls: list[str], repeats: int) -> list[tuple[float, float]]:
    """Per URL, the median (wall ms, this process's CPU ms) of `repeats` requests, the URLs
    taking turns so that a change in the machine's load falls on each alike. CPU time is
    the steadier figure when other processes share the cores."""
    samples: list[list[tuple[float, float]]] = [[] for _ in urls]
    for _ in range(repeats + 1):  # the first round warms up
        for index, url in enumerate(urls):
            wall, cpu = clock.perf_counter(), clock.process_time()
            response = http.get(url)
            wall, cpu = clock.perf_counter() - wall, clock.process_time() - cpu
            assert response.status_code == 200, (url, response.status_code)
            response.close()
            samples[index].append((wall * 1000, cpu * 1000))
    return [
        (statistics.median(w for w, _ in s[1:]), statistics.median(c for _, c in s[1:]))
        for s in samples
    ]


def bench(kind: str, repeats: int) -> dict:
    with scratch_app(kind) as app:
        scheduler = seed()
        http = app.test_client()
        sign_in(http, scheduler)
        page = f"/day/{DAY}"
        api = (
            f"/api/v1/appointments?start={DAY}T00:00:00%2B01:00"
            f"&end={DAY + timedelta(days=1)}T00:00:00%2B01:00&page_size=200"
        )
        listed = http.get(api).get_json()
        assert listed["total"] == CLINICIANS * PER_CLINICIAN, listed["total"]
        assert http.get(page).get_data(as_text=True).count('class="appt ') == listed["total"]
        (page_wall, page_cpu), (api_wall, api_cpu) = interleaved(http, [page, api], repeats)
        return {
            "database": kind,
            "page": page_wall,
            "api": api_wall,
            "page_cpu": page_cpu,
            "api_cpu": api_cpu,
        }


def write_results(rows: list[dict], repeats: int, host: str) -> str:
    lines = [
        SECTION,
        "",
        f"Server time of the practice's day (`/day/<date>`: {CLINICIANS} clinicians as "
        f"columns, {CLINICIANS * PER_CLINICIAN} appointments, free hours marked) beside "
        "`GET /api/v1/appointments` for the same day (the same appointments, one page of "
        f"200), as a scheduler with a session cookie; medians of {repeats} interleaved runs "
        f"through the Flask test client (`python -m bench.front_desk`). Target: page within "
        f"{TARGET}x. {host}.",
        "",
        "| database | page ms | API ms | ratio | page CPU ms | API CPU ms | CPU ratio | met |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ratio = row["page"] / row["api"]
        cpu_ratio = row["page_cpu"] / row["api_cpu"]
        lines.append(
            f"| {row['database']} | {row['page']:.1f} | {row['api']:.1f} | {ratio:.2f} | "
            f"{row['page_cpu']:.1f} | {row['api_cpu']:.1f} | {cpu_ratio:.2f} | "
            f"{'yes' if ratio <= TARGET else 'no'} |"
        )
    lines.append(
        f'\n1-minute load average at the end: {os.getloadavg()[0]:.1f}. "met" compares '
        "the wall-clock medians (the server time a person waits for)."
    )
    return replace_section(SECTION, "\n".join(lines) + "\n\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    host = machine()  # with the load as the run starts
    rows = [bench(kind, args.repeats) for kind in args.databases.split(",")]
    print(write_results(rows, args.repeats, host))


if __name__ == "__main__":
    main()
