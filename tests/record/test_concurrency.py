"""Concurrent writers of progress notes and plans against a live server: with one
If-Match exactly one wins (the others 412, or 409 once it is signed); one progress
note per appointment and one plan draft per client hold under racing requests."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from practice.clients.models import Client
from practice.extensions import db as _db
from tests.factories import bearer, make_appointment, make_client, make_practice, make_user
from tests.helpers import call

pytestmark = pytest.mark.live
WRITERS = 8


def seed(server) -> dict:
    with server.app.app_context():
        practice = make_practice()
        clinician = make_user(practice, ("clinician",))
        client = make_client(practice, clinician)
        appointment = make_appointment(client, status="attended")
        seeded = {
            "clinician": bearer(clinician),
            "client": str(client.id),
            "appointment": str(appointment.id),
            "base": server.url + "/api/v1",
        }
        _db.session.commit()
    return seeded


def race(writers: int, write) -> list:
    start = threading.Barrier(writers)

    def run(i: int):
        start.wait()
        return i, write(i)

    with ThreadPoolExecutor(max_workers=writers) as pool:
        return list(pool.map(run, range(writers)))


def test_concurrent_saves_and_signs_of_a_progress_note_have_one_winner(live_server):
    s = seed(live_server)
    status, note, _ = call(
        f"{s['base']}/clients/{s['client']}/progress-notes",
        "POST",
        s["clinician"],
        {"appointment_id": s["appointment"], "content": {"service_code": "90834"}},
    )
    assert status == 201, note
    url = f"{s['base']}/progress-notes/{note['id']}"
    headers = {**s["clinician"], "If-Match": '"1"'}

    def write(i: int):
        if i % 2:
            return call(f"{url}/sign", "POST", headers)
        body = {"content": {"service_code": "90834", "plan": f"writer {i}"}}
        return call(url, "PUT", headers, body)

    results = race(WRITERS, write)
    statuses = [result[1][0] for result in results]
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409, 412}, statuses
    [winner] = [i for i, (code, _b, _h) in results if code == 200]
    status, stored, headers = call(url, "GET", s["clinician"])
    assert status == 200 and stored["version"] == 2 and headers["ETag"] == '"2"'
    assert stored["status"] == ("signed" if winner % 2 else "draft")
    assert stored["content"]["plan"] == ("" if winner % 2 else f"writer {winner}")


def test_concurrent_saves_of_a_plan_have_one_winner(live_server):
    s = seed(live_server)
    status, plan, _ = call(
        f"{s['base']}/clients/{s['client']}/treatment-plans", "POST", s["clinician"], {}
    )
    assert status == 201, plan
    url = f"{s['base']}/treatment-plans/{plan['id']}"
    headers = {**s["clinician"], "If-Match": '"1"'}

    def write(i: int):
        return call(url, "PUT", headers, {"content": {"problems": [f"writer {i}"]}})

    results = race(WRITERS, write)
    assert sorted(r[1][0] for r in results) == [200] + [412] * (WRITERS - 1)
    [winner] = [i for i, (code, _b, _h) in results if code == 200]
    status, stored, _ = call(url, "GET", s["clinician"])
    assert stored["content"]["problems"] == [f"writer {winner}"] and stored["version"] == 2


def test_racing_notes_for_one_appointment_and_plan_drafts_have_one_winner(live_server):
    s = seed(live_server)
    notes = f"{s['base']}/clients/{s['client']}/progress-notes"
    body = {"appointment_id": s["appointment"]}
    results = race(WRITERS, lambda _i: call(notes, "POST", s["clinician"], body))
    assert sorted(r[1][0] for r in results) == [201] + [409] * (WRITERS - 1)
    plans = f"{s['base']}/clients/{s['client']}/treatment-plans"
    results = race(WRITERS, lambda _i: call(plans, "POST", s["clinician"], {}))
    assert sorted(r[1][0] for r in results) == [201] + [409] * (WRITERS - 1)
    with live_server.app.app_context():
        assert _db.session.get(Client, uuid.UUID(s["client"])) is not None
