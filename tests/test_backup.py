"""`flask backup` / `flask restore`: a round trip into a fresh database keeps every row,
the audit chain verifies, and every note decrypts with the keyring (SECURITY 28)."""

from __future__ import annotations

import stat
import threading
import uuid
from datetime import date
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from practice import backup as backups
from practice import create_app
from practice.audit import service as audit
from practice.audit.models import AuditEntry
from practice.auth.models import User
from practice.clients.models import Client
from practice.extensions import db as _db
from practice.keys import client_keys
from practice.keys.keyring import generate_keyring, load_keyring
from practice.notes.models import ProcessNote
from tests.conftest import TEST_SECRET_KEY
from tests.databases import TestDatabase
from tests.factories import bearer, make_client, make_practice, make_user
from tests.helpers import assert_error

NOTES = 5


@pytest.fixture
def db():
    """Override the autouse rollback fixture: these apps use their own databases."""
    return _db


@pytest.fixture
def databases(keyring_path):
    """Build apps on fresh databases; everything is dropped afterwards."""
    made: list[tuple] = []

    def new(migrate: bool = True, keyring=None, secret: str = TEST_SECRET_KEY):
        database = TestDatabase().create()
        app = create_app(
            "testing",
            {"SQLALCHEMY_DATABASE_URI": database.url, "SECRET_KEY": secret,
             "PRACTICE_KEYRING": str(keyring or keyring_path)},
        )  # fmt: skip
        made.append((database, app))
        if migrate:
            with app.app_context():
                flask_migrate.upgrade()
        return app

    yield new
    for database, app in made:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
        database.drop()


def seed(app) -> dict[uuid.UUID, dict]:
    """A practice with clients and sealed process notes; returns note id → plaintext."""
    plaintexts = {}
    with app.app_context():
        practice = make_practice()
        clinician = make_user(practice, ("clinician",))
        for n in range(NOTES):
            client = make_client(practice, clinician)
            note_id = uuid.uuid4()
            content = {"narrative": f"Invented session text {n}", "themes": ["critical-parent"]}
            _db.session.add(
                ProcessNote(
                    id=note_id,
                    practice_id=practice.id,
                    client_id=client.id,
                    author_id=clinician.id,
                    session_date=date(2026, 3, n + 1),
                    content=client_keys.seal(client, "process_notes", "content", note_id, content),
                )
            )
            audit.record(_db.session, "note.create", object_type="note", object_id=note_id,
                         actor=clinician)  # fmt: skip
            plaintexts[note_id] = content
        _db.session.commit()
    return plaintexts


def snapshot(app) -> dict[str, list]:
    """Every row of every table, in primary-key order."""
    with app.app_context():
        rows = {}
        for table in _db.metadata.sorted_tables:
            query = sa.select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(r) for r in _db.session.execute(query)]
        _db.session.rollback()
        return rows


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def audit_actions(app) -> list[str]:
    with app.app_context():
        # In time order: each practice has a chain of its own (and the deployment one).
        order = (AuditEntry.occurred_at, AuditEntry.chain_id, AuditEntry.seq)
        actions = _db.session.scalars(sa.select(AuditEntry.action).order_by(*order)).all()
        _db.session.rollback()
        return actions


def test_round_trip_into_a_fresh_database(databases, tmp_path):
    source = databases()
    plaintexts = seed(source)
    before = snapshot(source)
    path = tmp_path / "practice.backup"

    code, output = cli(source, "backup", str(path))
    assert code == 0, output
    assert "backed up" in output
    assert path.stat().st_mode & 0o077 == 0
    assert b"Invented session text" not in path.read_bytes()

    target = databases(migrate=False)
    code, output = cli(target, "restore", str(path))
    assert code == 0, output
    after = snapshot(target)
    for name in ("audit_entries", "audit_checkpoint"):
        before.pop(name), after.pop(name)
    assert after == before
    assert sum(len(rows) for rows in after.values()) > NOTES * 3
    # The restored log is the source's log at backup time, plus the restore itself.
    source_log = audit_actions(source)
    assert source_log[-1] == "database.backup"
    assert audit_actions(target) == [*source_log[:-1], "database.restore"]

    code, output = cli(target, "audit", "verify")
    assert code == 0, output
    with target.app_context():
        client_keys.forget_keys()
        notes = _db.session.scalars(sa.select(ProcessNote)).all()
        assert len(notes) == NOTES
        for note in notes:
            client = _db.session.get(Client, note.client_id)
            opened = client_keys.unseal(client, "process_notes", "content", note.id, note.content)
            assert opened == plaintexts[note.id]


def test_restore_refuses_a_non_empty_database_unless_forced(databases, tmp_path):
    source = databases()
    seed(source)
    path = tmp_path / "practice.backup"
    assert cli(source, "backup", str(path))[0] == 0

    target = databases()  # migrated: it has tables
    code, output = cli(target, "restore", str(path))
    assert code != 0
    assert "not empty" in output and "--force" in output
    assert snapshot(target)["process_notes"] == []

    code, output = cli(target, "restore", "--force", str(path))
    assert code == 0, output
    assert len(snapshot(target)["process_notes"]) == NOTES
    assert cli(target, "audit", "verify")[0] == 0


def test_backup_refuses_to_overwrite_unless_forced(databases, tmp_path):
    source = databases()
    path = tmp_path / "practice.backup"
    path.write_text("precious")
    code, output = cli(source, "backup", str(path))
    assert code != 0 and "already exists" in output
    assert path.read_text() == "precious"
    assert cli(source, "backup", "--force", str(path))[0] == 0
    assert path.read_bytes()[:5] in (b"SQLit", b"PGDMP")


def test_backup_into_a_missing_folder_is_a_clear_error(databases, tmp_path):
    code, output = cli(databases(), "backup", str(tmp_path / "nowhere" / "x.backup"))
    assert code != 0 and "does not exist" in output


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "cannot read"), (b"hello, not a backup", "not a practice backup")],
)
def test_restore_from_a_bad_file_is_a_clear_error(databases, tmp_path, content, words):
    path = tmp_path / "bad.backup"
    if content is not None:
        path.write_bytes(content)
    code, output = cli(databases(migrate=False), "restore", str(path))
    assert code != 0 and words in output
    assert "Traceback" not in output


def test_restore_refuses_the_other_databases_format(databases, tmp_path):
    path = tmp_path / "other.backup"
    other = b"PGDMP" if TestDatabase().kind == "sqlite" else b"SQLite format 3\x00"
    path.write_bytes(other + b"\x00" * 100)
    code, output = cli(databases(migrate=False), "restore", str(path))
    assert code != 0 and "backup; this database is" in output


def test_backup_is_consistent_while_the_app_writes(databases, tmp_path):
    source = databases()
    seed(source)
    stop = threading.Event()
    written = []

    def keep_writing():
        with source.app_context():
            while not stop.is_set():
                audit.record(_db.session, "test.event", object_type="thing", object_id=uuid.uuid4())
                _db.session.commit()
                written.append(1)
            _db.session.remove()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        paths = [tmp_path / f"live{n}.backup" for n in range(2)]
        for path in paths:
            code, output = cli(source, "backup", str(path))
            assert code == 0, output
    finally:
        stop.set()
        writer.join(timeout=30)
    assert len(written) > 20
    for path in paths:
        target = databases(migrate=False)
        assert cli(target, "restore", str(path))[0] == 0
        code, output = cli(target, "audit", "verify")
        assert code == 0, output


def _tables(app) -> list[str]:
    with app.app_context():
        return backups.existing_tables(_db.engine.url)


def test_restore_into_an_instance_with_other_keys_is_refused_naming_them(
    databases, keyring_path, tmp_path
):
    """issue 14: a fresh instance with its own keyring and secret reported success, then
    called the audit log tampered with and answered 500 on every note."""
    source = databases()
    plaintexts = seed(source)
    path = tmp_path / "practice.backup"
    assert cli(source, "backup", str(path))[0] == 0
    old_key = load_keyring(keyring_path).active_id
    fresh = generate_keyring(tmp_path / "fresh-keyring.json")

    target = databases(migrate=False, keyring=fresh.path, secret="another instance's secret")
    code, output = cli(target, "restore", str(path))
    assert code == 1, output
    assert f"lacks master key(s) {old_key}" in output and f"{NOTES} data key(s)" in output
    assert "written with another chain key" in output
    assert "restore refused; the database is empty again" in output
    assert "Traceback" not in output
    assert _tables(target) == []

    code, output = cli(target, "restore", "--force", str(path))
    assert code == 0, output
    assert "WARNING (--force)" in output and old_key in output
    code, output = cli(target, "audit", "verify")
    assert code == 3, output
    assert "written with another chain key up to entry" in output, output
    assert "was edited" not in output
    code, output = cli(target, "keys", "status")
    assert code != 0 and f"lacks master key(s) {old_key}" in output
    assert "--resume" not in output

    client = target.test_client()
    health = client.get("/api/v1/health").get_json()
    assert health == {
        "status": "degraded",
        "database": "ok",
        "keys": "missing",
        "missing_keys": [old_key],
    }
    assert "AAAA" not in repr(health) and str(fresh.keys) not in repr(health)
    with target.app_context():
        note = _db.session.scalars(sa.select(ProcessNote)).first()
        note_id, author = note.id, _db.session.get(User, note.author_id)
        headers = bearer(author)
        _db.session.commit()
    body = assert_error(client.get(f"/api/v1/notes/{note_id}", headers=headers), 503)
    assert "misconfigured" in body["message"] and "integrity" not in body["message"]
    assert plaintexts  # the source's text, never shown by the target
    assert audit_actions(target)[-1] == "crypto.key_missing"


def test_restore_with_the_keyring_but_another_chain_key_names_the_chain_key(databases, tmp_path):
    source = databases()
    seed(source)
    path = tmp_path / "practice.backup"
    assert cli(source, "backup", str(path))[0] == 0
    target = databases(migrate=False, secret="not the secret the backup was written with")
    code, output = cli(target, "restore", str(path))
    assert code == 1
    assert "written with another chain key" in output and "lacks master key" not in output
    assert _tables(target) == []


def test_restored_sqlite_database_is_private(databases, tmp_path):
    source = databases()
    path = tmp_path / "practice.backup"
    assert cli(source, "backup", str(path))[0] == 0
    target = databases(migrate=False)
    assert cli(target, "restore", str(path))[0] == 0
    database = target.config["SQLALCHEMY_DATABASE_URI"]
    if database.startswith("sqlite:///"):
        assert stat.S_IMODE(Path(database.removeprefix("sqlite:///")).stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
