"""No double booking under concurrency (SECURITY.md 24): a real threaded server, many
simultaneous requests for one slot, exactly one wins."""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from practice.extensions import db as _db
from practice.scheduling.models import Appointment
from tests.factories import bearer, make_client
from tests.scheduling.helpers import MONDAY, at, make_clinic, payload

pytestmark = pytest.mark.live
REQUESTS = 24


def post_all(url: str, bodies: list[tuple[dict, dict]]) -> list[tuple[int, dict]]:
    """POST every (body, headers) at once (released together by a barrier)."""
    barrier = threading.Barrier(len(bodies))

    def send(item):
        body, headers = item
        request = urllib.request.Request(  # noqa: S310 (our own http:// server)
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def seed(server) -> tuple[list[dict], list[dict]]:
    """A clinic with REQUESTS clients of one clinician; one payload and one token per client."""
    with server.app.app_context():
        clinic = make_clinic()
        clients = [make_client(clinic.practice, clinic.clinician) for _ in range(REQUESTS)]
        headers = [bearer(clinic.scheduler) for _ in range(REQUESTS)]
        bodies = [
            payload(clinic, client_id=str(c.id), room_id=str(clinic.room.id)) for c in clients
        ]
        _db.session.commit()
        _db.session.remove()
        return bodies, headers


def live_appointments(server) -> list[Appointment]:
    with server.app.app_context():
        rows = _db.session.scalars(sa.select(Appointment).where(Appointment.status == "scheduled"))
        result = rows.all()
        _db.session.remove()
        return result


def test_one_slot_many_requests_exactly_one_wins(live_server):
    bodies, headers = seed(live_server)
    # Different clients, one clinician and one room: only the clinician/room clash decides.
    results = post_all(
        f"{live_server.url}/api/v1/appointments", list(zip(bodies, headers, strict=True))
    )
    statuses = sorted(code for code, _ in results)
    assert statuses == [201] + [409] * (REQUESTS - 1), statuses
    winner = next(body for code, body in results if code == 201)
    for code, body in results:
        if code == 409:
            assert body["conflicts"], body
            assert {c["appointment_id"] for c in body["conflicts"]} == {winner["id"]}
    assert len(live_appointments(live_server)) == 1


def test_overlapping_series_race_exactly_one_wins(live_server):
    bodies, headers = seed(live_server)
    # Each series overlaps the others in some week, each at a different offset.
    requests = [
        (
            {
                **bodies[i],
                "room_id": None,
                "starts_at": at(MONDAY, 7 * (i % 4), 0, 10 * (i % 3)).isoformat(),
                "recurrence": {"every_weeks": 1, "count": 6},
            },
            headers[i],
        )
        for i in range(REQUESTS // 2)
    ]
    results = post_all(f"{live_server.url}/api/v1/appointments", requests)
    statuses = sorted(code for code, _ in results)
    assert statuses == [201] + [409] * (len(requests) - 1), statuses
    rows = live_appointments(live_server)
    assert len(rows) == 6 and len({row.series_id for row in rows}) == 1
