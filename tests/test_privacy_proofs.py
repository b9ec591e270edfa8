"""Proofs against a real server with committed data (SECURITY.md 1, 12, 25).

A canary written through the API never reaches the database files (SQLite file and
WAL, or a pg_dump), nor the client export; equal content encrypts differently every
time; and concurrent writers with one If-Match never both win.
"""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from practice.clients.models import Client
from practice.extensions import db as _db
from practice.notes.models import ProcessNote
from tests.databases import PG_ADMIN_URL
from tests.factories import bearer, make_appointment, make_client, make_practice, make_user
from tests.helpers import call

pytestmark = pytest.mark.live
CANARY = "Okapi-canary-5519 whispered the forbidden family secret"
PLAIN_MARKER = "Plainmarkerson"  # a demographic field, stored in the clear on purpose
WRITERS = 20


def seed(server) -> dict:
    with server.app.app_context():
        practice = make_practice()
        owner = make_user(practice, ("owner",))
        clinician = make_user(practice, ("clinician",))
        client = make_client(practice, clinician, last_name=PLAIN_MARKER)
        seeded = {
            "owner": bearer(owner),
            "clinician": bearer(clinician),
            "client": str(client.id),
            "base": server.url + "/api/v1",
        }
        _db.session.commit()
    return seeded


def write_canaries(s: dict) -> str:
    """A figure, a script, a signed note and an addendum, all carrying the canary."""
    base, h, cid = s["base"], s["clinician"], s["client"]
    status, figure, _ = call(
        f"{base}/clients/{cid}/figures", "POST", h, {"label": CANARY, "role": "mother"}
    )
    assert status == 201
    status, script, _ = call(
        f"{base}/clients/{cid}/scripts", "POST", h, {"name": CANARY, "wish": CANARY}
    )
    assert status == 201
    content = {
        "scripts_active": [script["id"]],
        "relationship_episodes": [
            {"figure_id": figure["id"], "wish": CANARY, "script_id": script["id"]}
        ],
        "narrative": {"summary": CANARY},
    }
    status, note, _ = call(
        f"{base}/clients/{cid}/notes", "POST", h, {"session_date": "2026-03-02", "content": content}
    )
    assert status == 201
    assert call(f"{base}/notes/{note['id']}/sign", "POST", {**h, "If-Match": '"1"'})[0] == 200
    status, signed, _ = call(f"{base}/notes/{note['id']}/addenda", "POST", h, {"text": CANARY})
    assert status == 201 and signed["addenda"][0]["text"] == CANARY
    status, read, _ = call(f"{base}/notes/{note['id']}", "GET", h)
    assert read["content"]["narrative"]["summary"] == CANARY  # it went in, and comes out
    return note["id"]


def stored_bytes(server) -> bytes:
    """Everything the database holds at rest: the SQLite file and WAL, or a pg_dump."""
    database = server.database
    if database.kind == "sqlite":
        path = database.path
        wal = path.with_name(path.name + "-wal")
        assert path.exists()
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    dump = subprocess.run(
        ["pg_dump", "--no-owner", f"{base}/{database.name}"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return dump.stdout


def test_canary_never_reaches_the_database_files(live_server):
    s = seed(live_server)
    write_canaries(s)
    raw = stored_bytes(live_server)
    assert PLAIN_MARKER.encode() in raw  # the scan does see what is stored in the clear
    for form in (CANARY, "Okapi-canary-5519", "forbidden family secret"):
        assert form.encode() not in raw
        assert form.encode("utf-16-le") not in raw
        assert form.encode().hex().encode() not in raw  # pg_dump writes bytea as hex


def test_client_export_carries_no_notes_scripts_or_figures(live_server):
    s = seed(live_server)
    write_canaries(s)
    for who in ("owner", "clinician"):
        status, body, _ = call(f"{s['base']}/clients/{s['client']}/export", "GET", s[who])
        assert status == 200
        text = json.dumps(body)
        assert PLAIN_MARKER in text and CANARY not in text


def test_same_content_twice_gives_different_ciphertexts(live_server):
    s = seed(live_server)
    content = {"narrative": {"summary": CANARY}}
    ids = []
    for _ in range(2):
        status, note, _ = call(
            f"{s['base']}/clients/{s['client']}/notes",
            "POST",
            s["clinician"],
            {"session_date": "2026-03-02", "content": content},
        )
        assert status == 201
        ids.append(uuid.UUID(note["id"]))
    headers = {**s["clinician"], "If-Match": '"1"'}
    assert call(f"{s['base']}/notes/{ids[0]}", "PUT", headers, {"content": content})[0] == 200
    with live_server.app.app_context():
        blobs = _db.session.scalars(sa.select(ProcessNote.content)).all()
    assert len(blobs) == 2 and blobs[0] != blobs[1]
    assert all(CANARY.encode() not in blob for blob in blobs)


def test_concurrent_puts_with_one_if_match_have_exactly_one_winner(live_server):
    s = seed(live_server)
    status, note, _ = call(
        f"{s['base']}/clients/{s['client']}/notes",
        "POST",
        s["clinician"],
        {"session_date": "2026-03-02", "content": {}},
    )
    assert status == 201
    url = f"{s['base']}/notes/{note['id']}"
    headers = {**s["clinician"], "If-Match": '"1"'}
    start = threading.Barrier(WRITERS)

    def write(i: int):
        start.wait()
        body = {"content": {"narrative": {"summary": f"writer {i}"}}}
        return i, call(url, "PUT", headers, body)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(write, range(WRITERS)))
    statuses = sorted(result[1][0] for result in results)
    assert statuses == [200] + [412] * (WRITERS - 1), statuses
    [winner] = [i for i, (code, _body, _h) in results if code == 200]
    status, stored, headers = call(url, "GET", s["clinician"])
    assert stored["content"] == {"narrative": {"summary": f"writer {winner}"}}
    assert stored["version"] == 2 and headers["ETag"] == '"2"'


def test_concurrent_signs_and_puts_with_one_if_match_have_exactly_one_winner(live_server):
    """Half the writers sign, half replace the draft, all with If-Match "1": exactly one
    wins (200), the rest are 412 (a PUT after the sign won: 409, the note is signed); the
    note shows exactly the winner's outcome, and every text still decrypts at its version."""
    s = seed(live_server)
    status, note, _ = call(
        f"{s['base']}/clients/{s['client']}/notes",
        "POST",
        s["clinician"],
        {"session_date": "2026-03-02", "content": {"narrative": {"summary": "start"}}},
    )
    assert status == 201
    url = f"{s['base']}/notes/{note['id']}"
    headers = {**s["clinician"], "If-Match": '"1"'}
    start = threading.Barrier(WRITERS)

    def write(i: int):
        start.wait()
        if i % 2:
            return i, call(f"{url}/sign", "POST", headers)
        return i, call(url, "PUT", headers, {"content": {"narrative": {"summary": f"w{i}"}}})

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(write, range(WRITERS)))
    statuses = [result[1][0] for result in results]
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409, 412}, statuses
    [winner] = [i for i, (code, _body, _h) in results if code == 200]
    status, stored, headers = call(url, "GET", s["clinician"])
    assert status == 200 and stored["version"] == 2 and headers["ETag"] == '"2"'
    if winner % 2:
        assert stored["status"] == "signed"
        assert stored["content"] == {"narrative": {"summary": "start"}}
    else:
        assert stored["status"] == "draft"
        assert stored["content"] == {"narrative": {"summary": f"w{winner}"}}


def test_concurrent_notes_for_one_appointment_have_exactly_one_winner(live_server):
    """One note per appointment holds when the requests race past the reference check:
    the unique index refuses the others, each answered 409 in the error shape."""
    s = seed(live_server)
    with live_server.app.app_context():
        client = _db.session.get(Client, uuid.UUID(s["client"]))
        appointment = make_appointment(client)  # with the client's primary clinician
        _db.session.commit()
        appointment_id = str(appointment.id)
    url = f"{s['base']}/clients/{s['client']}/notes"
    body = {"session_date": "2026-03-02", "appointment_id": appointment_id, "content": {}}
    start = threading.Barrier(WRITERS)

    def write(_i: int):
        start.wait()
        return call(url, "POST", s["clinician"], body)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(write, range(WRITERS)))
    assert sorted(code for code, _body, _h in results) == [201] + [409] * (WRITERS - 1)
    assert all(b["code"] == 409 and b["message"] for code, b, _h in results if code == 409)
    with live_server.app.app_context():
        stored = _db.session.scalars(
            sa.select(ProcessNote.id).where(ProcessNote.appointment_id == appointment.id)
        ).all()
    [winner] = [b["id"] for code, b, _h in results if code == 201]
    assert [str(note_id) for note_id in stored] == [winner]
