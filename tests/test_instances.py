"""Several instances, proven (issue 15): two gunicorn instances, two workers each, on one
PostgreSQL database and one Redis, in their production configuration. A cookie from one
works on the other, logging out on one ends it on the other, the sign-in throttle and the
"dead credential audited at most once per 10 minutes" rule count per deployment, and a
booking race split across both has exactly one winner."""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from practice.audit.models import AuditEntry, AuditPending
from practice.audit.verify import verify_chain
from practice.auth import service as auth_service
from practice.auth.models import ApiToken
from practice.database import utcnow
from practice.extensions import db as _db
from tests.conftest import TEST_SECRET_KEY
from tests.databases import TestDatabase
from tests.factories import PASSWORD, bearer, make_client, make_practice, make_user
from tests.scheduling.helpers import make_clinic, payload

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
REDIS = ("127.0.0.1", 6379)

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(TestDatabase().kind != "postgresql", reason="one shared PostgreSQL"),
]


def _redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Instance:
    """One gunicorn (2 workers) serving wsgi:app in production configuration."""

    def __init__(self, env: dict, tmp: Path, name: str):
        self.port = _free_port()
        self.log = tmp / f"{name}.log"
        command = [str(GUNICORN), "-w", "2", "-k", "gthread", "--threads", "4"]
        command += ["-b", f"127.0.0.1:{self.port}", "--error-logfile", str(self.log)]
        self.process = subprocess.Popen([*command, "wsgi:app"], cwd=ROOT, env=env)

    def wait(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                if self.call("GET", "/api/v1/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **CLIENT, **(headers or {})}
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        connection.close()
        payload = json.loads(raw) if raw and raw.startswith((b"{", b"[")) else {}
        return response.status, payload, dict(response.getheaders())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# One client address per run (behind one trusted proxy hop), so the throttle's counters
# in the shared Redis are this run's alone.
CLIENT = {
    "X-Forwarded-For": f"198.51.100.{random.randint(1, 254)}",
    "X-Forwarded-Proto": "https",
}


@pytest.fixture
def instances(live_server, keyring_path, tmp_path):
    if not GUNICORN.exists():
        pytest.fail("gunicorn is missing: `make install` (it is in the dev extras)")
    if not _redis_up():
        pytest.fail("the multi-instance test needs Redis answering on 127.0.0.1:6379")
    CLIENT["X-Forwarded-For"] = f"198.51.{random.randint(0, 255)}.{random.randint(1, 254)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRACTICE_", "FLASK_"))}
    env.update(
        PRACTICE_CONFIG="production",
        SECRET_KEY=TEST_SECRET_KEY,  # the test app's: the same audit chain key
        DATABASE_URL=live_server.database.url,
        PRACTICE_KEYRING=str(keyring_path),
        PRACTICE_INSTANCE_PATH=str(tmp_path / "instance"),
        RATELIMIT_STORAGE_URI=f"redis://{REDIS[0]}:{REDIS[1]}/{random.randint(1, 12)}",
        PRACTICE_PROXY_HOPS="1",
        PYTHONPATH=str(ROOT),
    )
    started = [Instance(env, tmp_path, "a"), Instance(env, tmp_path, "b")]
    try:
        deadline = time.monotonic() + 90
        for instance in started:
            instance.wait(deadline)
        yield started
    finally:
        for instance in started:
            instance.stop()


def _cookie(headers: dict) -> str:
    value = headers.get("Set-Cookie", "")
    return value.split(";", 1)[0]


def test_two_instances_share_sessions_throttle_audit_limits_and_bookings(live_server, instances):
    a, b = instances
    with live_server.app.app_context():
        practice = make_practice("Two Harbours Therapy")
        user = make_user(practice, ("clinician",), email="two.instances@example.test")
        owner = make_user(practice, ("owner",))
        dead_token, dead_secret = auth_service.issue_api_token(owner, "revoked")
        dead_token.revoked_at = utcnow() - timedelta(seconds=1)
        clinic = make_clinic()
        clients = [make_client(clinic.practice, clinic.clinician) for _ in range(20)]
        scheduler = bearer(clinic.scheduler)
        bodies = [
            payload(clinic, client_id=str(c.id), room_id=str(clinic.room.id)) for c in clients
        ]
        _db.session.commit()
        dead_id, email = dead_token.id, user.email
        _db.session.remove()

    # A cookie from A works on B; logging out on B ends it on A.
    status, _body, headers = a.call(
        "POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD}
    )
    assert status == 200, _body
    cookie = {"Cookie": _cookie(headers)}
    status, me, _ = b.call("GET", "/api/v1/auth/me", headers=cookie)
    assert status == 200 and me["email"] == email
    status, csrf, _ = a.call("GET", "/api/v1/auth/csrf", headers=cookie)
    assert status == 200
    status, _body, _ = b.call(
        "POST", "/api/v1/auth/logout", headers={**cookie, "X-CSRF-Token": csrf["csrf_token"]}
    )
    assert status in (200, 204), _body
    assert a.call("GET", "/api/v1/auth/me", headers=cookie)[0] == 401
    assert b.call("GET", "/api/v1/auth/me", headers=cookie)[0] == 401

    # The sign-in throttle (10 failures per account and address) counts across both:
    # with counts per process the first 429 came at attempt 18, across instances never.
    wrong = {"email": "nobody.here@example.test", "password": "not the password at all"}
    statuses = [(a, b)[n % 2].call("POST", "/api/v1/auth/login", wrong)[0] for n in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429], statuses

    # A revoked token replayed 12 times across both (4 processes): audited once.
    dead = {"Authorization": f"Bearer {dead_secret}"}
    assert {(a, b)[n % 2].call("GET", "/api/v1/auth/me", headers=dead)[0] for n in range(12)} == {
        401
    }
    with live_server.app.app_context():
        # Sealed or still waiting for the instances' sealers (deferred sealing).
        rejected = sum(
            _db.session.scalar(
                sa.select(sa.func.count())
                .select_from(table)
                .where(
                    table.action == "auth.credential_rejected",
                    table.object_id == str(dead_id),
                )
            )
            for table in (AuditEntry, AuditPending)
        )
        assert rejected == 1
        assert _db.session.get(ApiToken, dead_id).revoked_at is not None
        _db.session.remove()

    # 20 bookings of one slot, split across both, released together: one wins.
    barrier = threading.Barrier(len(bodies))

    def book(n: int) -> int:
        barrier.wait()
        return (a, b)[n % 2].call("POST", "/api/v1/appointments", bodies[n], scheduler)[0]

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        results = list(pool.map(book, range(len(bodies))))
    assert results.count(201) == 1 and results.count(409) == len(bodies) - 1, results

    # Every audited request of both instances only queued its entries (production seals
    # them deferred); the instances' sealer threads put them on their chains within
    # seconds, and the whole log verifies.
    with live_server.app.app_context():
        deadline = time.monotonic() + 15
        while _db.session.scalar(sa.select(sa.func.count()).select_from(AuditPending)):
            assert time.monotonic() < deadline, "pending audit entries were not sealed"
            _db.session.rollback()
            time.sleep(0.2)
        result = verify_chain(_db.session)
        assert result.ok and result.pending == 0, result.problem
        _db.session.remove()
