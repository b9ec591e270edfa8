"""The migrations build exactly the schema the models describe."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import practice.models  # noqa: F401
from practice import create_app
from practice.extensions import db
from tests.conftest import TEST_SECRET_KEY
from tests.databases import TestDatabase


@contextmanager
def scratch_app(keyring_path) -> Iterator[TestDatabase]:
    """An app context on a fresh, empty database of this run's kind (migrate it yourself);
    the database is dropped afterwards."""
    scratch = TestDatabase().create()
    try:
        config = {
            "SQLALCHEMY_DATABASE_URI": scratch.url,
            "SECRET_KEY": TEST_SECRET_KEY,
            "PRACTICE_KEYRING": str(keyring_path),
        }
        with create_app("testing", config).app_context():
            yield scratch
            db.session.remove()
            db.engine.dispose()
    finally:
        scratch.drop()


# SQLite's reflection cannot read expression indexes (rooms' lower(name)); Alembic then
# leaves them out of the comparison there. PostgreSQL compares them.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_models_and_migrations_agree():
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_upgrade_renames_case_duplicates_and_downgrades_keep_data(keyring_path):
    """0004 must not stop on rooms a race already stored as 'Room A' and 'room a'; every
    later revision must go down and up again on a database that holds rows."""
    with scratch_app(keyring_path) as scratch:
        flask_migrate.upgrade(revision="0003")
        engine = db.engine
        practice_id = uuid.uuid4()
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO practices (id, name, timezone, require_totp, created_at) "
                    "VALUES (:id, 'Harbour', 'Europe/Berlin', false, '2026-01-01 00:00:00')"
                ),
                {"id": practice_id.hex if scratch.kind == "sqlite" else practice_id},
            )
            rooms = ("Room A", "room a", "ROOM A", "Room A (2)", "ΧΩΡΟΣ", "χωροσ")
            for n, name in enumerate(rooms):
                room_id = uuid.uuid4()
                conn.execute(
                    sa.text(
                        "INSERT INTO rooms (id, practice_id, name, active, created_at) "
                        "VALUES (:id, :practice, :name, true, :at)"
                    ),
                    {
                        "id": room_id.hex if scratch.kind == "sqlite" else room_id,
                        "practice": practice_id.hex if scratch.kind == "sqlite" else practice_id,
                        "name": name,
                        "at": f"2026-01-01 00:00:0{n}",
                    },
                )
        flask_migrate.upgrade()
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT name FROM rooms ORDER BY created_at")).scalars()
            # Greek: PostgreSQL's lower() folds capital to small sigma, SQLite's only ASCII;
            # the renaming follows the database, as the index does.
            greek = ["ΧΩΡΟΣ", "χωροσ (2)" if scratch.kind == "postgresql" else "χωροσ"]
            assert list(names) == ["Room A", "room a (3)", "ROOM A (4)", "Room A (2)", *greek]
        flask_migrate.downgrade(revision="0003")
        flask_migrate.upgrade()
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM practices")).scalar() == 1


def test_0009_makes_open_supervision_links_pending(keyring_path):
    """Links made before the supervised clinician had to accept become requests (no
    reach until accepted); ended ones count as accepted when made. Downgrading ends the
    links still pending, so the old schema never puts one into effect."""

    def key(value: uuid.UUID):
        return value.hex if scratch.kind == "sqlite" else value

    with scratch_app(keyring_path) as scratch:
        flask_migrate.upgrade(revision="0008")
        engine = db.engine
        practice_id, open_id, ended_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        people = {name: uuid.uuid4() for name in ("supervisor", "author", "colleague")}
        made = "2026-01-01 00:00:00"
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO practices (id, name, timezone, require_totp, created_at) "
                    "VALUES (:id, 'Harbour', 'Europe/Berlin', false, :at)"
                ),
                {"id": key(practice_id), "at": made},
            )
            for name, user_id in people.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO users (id, practice_id, email, name, role_names, "
                        "password_hash, active, totp_enabled, failed_logins, "
                        "password_changed_at, created_at, updated_at) VALUES (:id, "
                        ":practice, :email, :name, 'clinician supervisor', 'x', true, "
                        "false, 0, :at, :at, :at)"
                    ),
                    {
                        "id": key(user_id),
                        "practice": key(practice_id),
                        "email": f"{name}@example.test",
                        "name": name,
                        "at": made,
                    },
                )
            for link_id, supervisee, ended in (
                (open_id, "author", None),
                (ended_id, "colleague", "2026-02-01 00:00:00"),
            ):
                conn.execute(
                    sa.text(
                        "INSERT INTO supervisions (id, practice_id, supervisor_id, "
                        "supervisee_id, created_at, ended_at) "
                        "VALUES (:id, :practice, :supervisor, :supervisee, :at, :ended)"
                    ),
                    {
                        "id": key(link_id),
                        "practice": key(practice_id),
                        "supervisor": key(people["supervisor"]),
                        "supervisee": key(people[supervisee]),
                        "at": made,
                        "ended": ended,
                    },
                )

        def links() -> dict:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT id, accepted_at, ended_at FROM supervisions")
                ).all()
            return {
                uuid.UUID(str(row[0])): (row[1] is not None, row[2] is not None) for row in rows
            }

        flask_migrate.upgrade(revision="0009")
        # (accepted, ended): the open link is pending, the ended one was accepted.
        assert links() == {open_id: (False, False), ended_id: (True, True)}
        flask_migrate.downgrade(revision="0008")
        with engine.connect() as conn:
            ended = conn.execute(
                sa.text("SELECT id FROM supervisions WHERE ended_at IS NOT NULL")
            ).scalars()
            assert {uuid.UUID(str(value)) for value in ended} == {open_id, ended_id}


def test_0010_gives_every_token_an_expiry_and_drops_the_lockout(keyring_path):
    """A token made without an expiry gets one 90 days ahead (none stops on the day of the
    upgrade, none lives for ever); the lockout columns go, and come back on downgrade."""
    with scratch_app(keyring_path) as scratch:
        flask_migrate.upgrade(revision="0009")

        def key(value: uuid.UUID):
            return value.hex if scratch.kind == "sqlite" else value

        engine = db.engine
        practice_id, user_id, token_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        made = "2026-01-01 00:00:00"
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO practices (id, name, timezone, require_totp, created_at) "
                    "VALUES (:id, 'Harbour', 'Europe/Berlin', false, :at)"
                ),
                {"id": key(practice_id), "at": made},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, practice_id, email, name, role_names, "
                    "password_hash, active, totp_enabled, failed_logins, "
                    "password_changed_at, created_at, updated_at) VALUES (:id, :practice, "
                    "'a@example.test', 'A', 'clinician', 'x', true, false, 3, :at, :at, :at)"
                ),
                {"id": key(user_id), "practice": key(practice_id), "at": made},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO api_tokens (id, user_id, name, secret_hash, prefix, created_at) "
                    "VALUES (:id, :user, 'old', :hash, 'pt_old', :at)"
                ),
                {"id": key(token_id), "user": key(user_id), "hash": "0" * 64, "at": made},
            )
        flask_migrate.upgrade(revision="0010")
        with engine.connect() as conn:
            expires = conn.execute(sa.text("SELECT expires_at FROM api_tokens")).scalar_one()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
        expires = datetime.fromisoformat(str(expires)).replace(tzinfo=UTC)
        ahead = expires - datetime.now(UTC)
        assert timedelta(days=89) < ahead <= timedelta(days=90)
        assert not columns & {"failed_logins", "locked_until"}
        flask_migrate.downgrade(revision="0009")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
            assert conn.execute(sa.text("SELECT count(*) FROM api_tokens")).scalar() == 1
        assert {"failed_logins", "locked_until"} <= columns
