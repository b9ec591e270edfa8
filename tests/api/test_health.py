"""GET /api/v1/health, and a database outage: 503 in the error shape, then recovery
in the same process without a restart (SECURITY 27)."""

from __future__ import annotations

import shutil
import socket
import threading
from contextlib import suppress
from pathlib import Path

import flask_migrate
import pytest

from practice import create_app
from practice.extensions import db as _db
from tests.conftest import TEST_SECRET_KEY
from tests.databases import TestDatabase
from tests.factories import bearer, make_practice, make_user
from tests.helpers import assert_error


@pytest.fixture
def db():
    """Override the autouse rollback fixture: these apps use their own database, and
    the rollback fixture would bind them to the shared test connection."""
    return _db


class Forwarder:
    """127.0.0.1:<port> → 127.0.0.1:<target>, which can be cut and restored."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> Forwarder:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Refuse new connections and cut every open one."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
            listener, self._listener = self._listener, None
        for sock in [listener, *sockets]:
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                inbound, _ = listener.accept()
            except OSError:
                return
            try:
                outbound = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                inbound.close()
                continue
            with self._lock:
                self._sockets += [inbound, outbound]
            for a, b in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def test_health_ok(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "keys": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_takes_no_input_but_ignores_nothing_dangerous(client):
    assert client.get("/api/v1/health?x=" + "y" * 5000).status_code == 200
    assert_error(client.post("/api/v1/health", json={}), 405)


@pytest.fixture
def outage_app(keyring_path, request):
    """An app on its own fresh database, seeded with an owner; yields (app, cut, restore)."""
    database = TestDatabase().create()
    apps = []

    def build(url: str):
        app = create_app(
            "testing",
            {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": TEST_SECRET_KEY,
             "PRACTICE_KEYRING": str(keyring_path)},
        )  # fmt: skip
        apps.append(app)
        return app

    direct = build(database.url)
    with direct.app_context():
        flask_migrate.upgrade()
        owner = make_user(make_practice(), ("owner", "clinician"))
        headers = bearer(owner)
        _db.session.commit()
        _db.engine.dispose()
    try:
        yield database, build, headers
    finally:
        for app in apps:
            with app.app_context():
                _db.session.remove()
                _db.engine.dispose()
        database.drop()


def _outage_requests(client, headers):
    """Every kind of request must answer 503 in the error shape while the DB is away."""
    assert_error(client.get("/api/v1/health"), 503)
    assert_error(client.get("/api/v1/auth/me", headers=headers), 503)
    assert_error(client.get("/api/v1/audit", headers=headers), 503)
    assert_error(
        client.post("/api/v1/auth/login", json={"email": "a@example.test", "password": "x" * 12}),
        503,
    )


def _healthy(client, headers):
    assert client.get("/api/v1/health").get_json() == {
        "status": "ok",
        "database": "ok",
        "keys": "ok",
    }
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.get("/api/v1/audit", headers=headers).status_code == 200


@pytest.mark.skipif(TestDatabase().kind != "postgresql", reason="network outage: PostgreSQL")
def test_postgresql_outage_is_503_and_the_same_app_recovers(outage_app):
    database, build, headers = outage_app
    forwarder = Forwarder(5432).start()
    try:
        app = build(database.url.replace(":5432/", f":{forwarder.port}/"))
        client = app.test_client()
        _healthy(client, headers)
        for _ in range(2):  # cut twice: recovery is not a one-off
            forwarder.stop()
            _outage_requests(client, headers)
            forwarder.start()
            _healthy(client, headers)
    finally:
        forwarder.stop()


@pytest.mark.skipif(TestDatabase().kind != "sqlite", reason="file outage: SQLite")
def test_sqlite_outage_is_503_and_the_same_app_recovers(outage_app):
    """SQLite is embedded: its outage is the file's directory going away (an unmounted
    or failed volume). Open connections keep their file handles, so the pool is emptied
    to model the process losing them, as a volume failure would."""
    database, build, headers = outage_app
    app = build(database.url)
    client = app.test_client()
    _healthy(client, headers)
    folder = Path(database.path).parent
    away = folder.with_name(folder.name + "-away")
    for _ in range(2):
        with app.app_context():
            _db.engine.dispose()
        folder.rename(away)
        folder.write_text("not a directory")  # the path now cannot hold a database
        try:
            _outage_requests(client, headers)
        finally:
            folder.unlink()
            away.rename(folder)
        _healthy(client, headers)
    shutil.rmtree(away, ignore_errors=True)
