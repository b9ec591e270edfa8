"""Fixtures: one migrated database per run (SQLite or PostgreSQL, see tests/databases.py),
each test inside a transaction that is rolled back, and a live server for concurrency."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask, g
from sqlalchemy.orm import scoped_session, sessionmaker
from werkzeug.serving import make_server

from practice import create_app
from practice.extensions import db as _db
from practice.keys.keyring import generate_keyring
from tests.databases import TestDatabase

TEST_SECRET_KEY = "test-secret-key-not-for-production"
# The Redis database the tests that need Redis may flush: one per run (the Makefile sets
# it), so a SQLite and a PostgreSQL run never share counters, even at the same time.
# Numbers 1-12 are left to tests/test_instances.py's deployments.
REDIS_TEST_DB = int(os.environ.get("PRACTICE_TEST_REDIS_DB", "15"))
REDIS_TEST_URL = f"redis://127.0.0.1:6379/{REDIS_TEST_DB}"


def app_context_id() -> int:
    """One session per application context, as Flask-SQLAlchemy scopes its own: each
    context has its own `g` (LocalProxy._get_current_object is Werkzeug's public way to
    reach the object behind a proxy)."""
    return id(g._get_current_object())


def build_app(database: TestDatabase, keyring_path: Path, **overrides) -> Flask:
    """A testing app on `database`, migrated to head."""
    config = {
        "SQLALCHEMY_DATABASE_URI": database.url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PRACTICE_KEYRING": str(keyring_path),
    }
    config.update(overrides)
    app = create_app("testing", config)
    with app.app_context():
        flask_migrate.upgrade()
    return app


@pytest.fixture(scope="session")
def keyring_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keyring.json"
    generate_keyring(path)
    return path


@pytest.fixture(scope="session")
def database() -> Iterator[TestDatabase]:
    database = TestDatabase().create()
    yield database
    database.drop()


@pytest.fixture(scope="session")
def app(database, keyring_path) -> Iterator[Flask]:
    app = build_app(database, keyring_path)
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(autouse=True)
def db(request) -> Iterator:
    """The database session for one test; everything it commits is rolled back after.

    The test client shares this session with the test (one app context), so a refused
    request rolls back what the test only flushed: commit setup before such requests.
    Tests that start a `live_server` keep the real session, so the server's own app and
    its threads use their own database and connections, not this test's.
    Tests marked `pure` (computations on plain values) get no app and no database: none
    is created or migrated for them.
    """
    if request.node.get_closest_marker("pure"):
        yield None
        return
    app = request.getfixturevalue("app")
    if "live_server" in request.fixturenames:
        yield _db
        return
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        # Flask-SQLAlchemy's Session picks engines itself and would ignore `bind`;
        # the plain SQLAlchemy Session honours it, so the whole test shares `connection`.
        _db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=app_context_id,
        )
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    """A real threaded HTTP server on its own fresh database, for concurrency tests."""

    def __init__(self, app: Flask, database: TestDatabase):
        self.app = app
        self.database = database
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._finish_requests()
        with self.app.app_context():
            _db.session.remove()
            _db.engine.dispose()

    def _finish_requests(self, seconds: float = 2.0) -> None:
        """Let request threads still tearing down return their database connections
        before the engine is disposed: a client has its answer a moment before the
        thread has released its connection, and one released into a disposed pool is
        later collected still open (psycopg's ResourceWarning, an error under
        filterwarnings=error in whichever test happens to run then). Threads idling on a
        keep-alive connection hold none, so the wait is bounded."""
        deadline = time.monotonic() + seconds
        threads = getattr(self._server, "_threads", None)  # socketserver's list, once used
        for thread in list(threads) if isinstance(threads, list) else ():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


@pytest.fixture
def live_server(keyring_path) -> Iterator[LiveServer]:
    """Start a server on a fresh, migrated database; seed it inside `server.app.app_context()`."""
    database = TestDatabase().create()
    app = build_app(database, keyring_path)
    server = LiveServer(app, database).start()
    try:
        yield server
    finally:
        server.stop()
        database.drop()
