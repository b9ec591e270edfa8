"""SECURITY.md 6: `flask keys rotate` SIGKILLed at random points, rerun, loses nothing.

Runs the real CLI in subprocesses against its own file-based database (SQLite file or
PostgreSQL database), so the kill hits real transactions and the real keyring file.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import scoped_session, sessionmaker

from practice.clients.models import Client
from practice.extensions import db as _db
from practice.keys import client_keys
from practice.keys.envelope import unwrap_data_key
from practice.keys.keyring import Keyring, generate_keyring, load_keyring
from practice.keys.models import ClientDataKey
from practice.notes.models import Figure
from tests.conftest import TEST_SECRET_KEY, app_context_id, build_app
from tests.databases import TestDatabase
from tests.factories import make_practice, make_user

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 400
BATCH = 10
KILLS = 5


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A fresh migrated database with its own keyring and a session bound to it."""
    database = TestDatabase().create()
    ring = tmp_path / "keyring.json"
    generate_keyring(ring)
    app = build_app(database, ring)
    with app.app_context():
        session = scoped_session(sessionmaker(bind=_db.engine), scopefunc=app_context_id)
        monkeypatch.setattr(_db, "session", session)
        try:
            yield app, database, ring
        finally:
            session.remove()
            _db.engine.dispose()
            database.drop()


def _seed(app) -> None:
    practice = make_practice("Crashtest Rooms")
    clinician = make_user(practice)
    clients = [
        Client(
            practice_id=practice.id,
            first_name="Test",
            last_name=f"Person{n:04d}",
            primary_clinician_id=clinician.id,
            intake_date=date(2026, 1, 5),
        )
        for n in range(CLIENTS)
    ]
    _db.session.add_all(clients)
    _db.session.flush()
    for client in clients:
        figure_id = uuid.uuid4()
        payload = client_keys.seal(
            client, "figures", "payload", figure_id, {"label": str(client.id)}
        )
        _db.session.add(
            Figure(
                id=figure_id,
                practice_id=practice.id,
                client_id=client.id,
                payload=payload,
                created_by=clinician.id,
            )
        )
    _db.session.commit()
    _db.session.remove()


def _rotate(database: TestDatabase, ring: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PRACTICE_CONFIG": "testing",
        "DATABASE_URL": database.url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PRACTICE_KEYRING": str(ring),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "keys", "rotate"]
    return subprocess.Popen(
        [*command, "--batch-size", str(BATCH)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill_somewhere(process: subprocess.Popen, rng: random.Random) -> str:
    """SIGKILL after a random number of progress lines (plus jitter) or a random delay."""
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0.0, 2.5))
        where = "timer"
    else:
        lines = rng.randint(0, CLIENTS // BATCH + 1)
        for _ in range(lines):
            if not process.stdout.readline():
                break
        time.sleep(rng.uniform(0.0, 0.02))
        where = f"after {lines} lines"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    return where


def _kill_after_batches(process: subprocess.Popen, batches: int) -> str:
    """SIGKILL once `batches` batches have been rewrapped and reported."""
    seen = 0
    while seen < batches:
        line = process.stdout.readline()
        assert line, "rotate ended before it was killed"
        seen += line.startswith("rewrapped ")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    return f"after {batches} batches"


def _assert_no_loss(ring: Path) -> Keyring:
    """Every data key unwraps with the keyring file as it is now; every value decrypts."""
    keyring = load_keyring(ring)
    session = _db.session
    for row in session.scalars(sa.select(ClientDataKey)):
        unwrap_data_key(
            keyring, row.practice_id, row.client_id, row.id, row.master_key_id, row.wrapped_key
        )
    current_app.extensions["keyring"] = keyring
    client_keys.forget_keys()
    figures = session.scalars(sa.select(Figure)).all()
    clients = {c.id: c for c in session.scalars(sa.select(Client))}
    assert len(figures) == CLIENTS
    for figure in figures:
        value = client_keys.unseal(
            clients[figure.client_id], "figures", "payload", figure.id, figure.payload
        )
        assert value == {"label": str(figure.client_id)}
    session.remove()
    return keyring


@pytest.mark.live
def test_rotation_killed_at_random_points_loses_nothing(scratch):
    app, database, ring = scratch
    _seed(app)
    original = load_keyring(ring).active_id
    rng = random.Random(os.environ.get("PRACTICE_KILL_SEED") or time.time_ns())
    # The first kill lands mid-rewrap for certain: after three committed batches, with
    # the rest still on the old key (random kills may land before or after the work).
    kills = [_kill_after_batches(_rotate(database, ring), 3)]
    keyring = _assert_no_loss(ring)
    on = list(_db.session.scalars(sa.select(ClientDataKey.master_key_id)))
    assert on.count(keyring.active_id) >= 3 * BATCH and on.count(original) > 0, on
    _db.session.remove()
    for _ in range(KILLS):
        kills.append(_kill_somewhere(_rotate(database, ring), rng))
        _assert_no_loss(ring)
    finished = _rotate(database, ring)
    output, _ = finished.communicate(timeout=120)
    assert finished.returncode == 0, output
    keyring = _assert_no_loss(ring)
    on = set(_db.session.scalars(sa.select(ClientDataKey.master_key_id)))
    assert on == {keyring.active_id} and original not in on, kills
    assert ring.stat().st_mode & 0o777 == 0o600
    count = _db.session.scalar(sa.select(sa.func.count()).select_from(ClientDataKey))
    assert count == CLIENTS
    _db.session.remove()
