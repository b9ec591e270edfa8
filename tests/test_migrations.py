"""The migrations build exactly the schema the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import practice.models  # noqa: F401
from practice.extensions import db


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
    import uuid

    import flask_migrate
    import sqlalchemy as sa

    from practice import create_app
    from tests.conftest import TEST_SECRET_KEY
    from tests.databases import TestDatabase

    scratch = TestDatabase().create()
    try:
        app = create_app(
            "testing",
            {
                "SQLALCHEMY_DATABASE_URI": scratch.url,
                "SECRET_KEY": TEST_SECRET_KEY,
                "PRACTICE_KEYRING": str(keyring_path),
            },
        )
        with app.app_context():
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
                            "practice": practice_id.hex
                            if scratch.kind == "sqlite"
                            else practice_id,
                            "name": name,
                            "at": f"2026-01-01 00:00:0{n}",
                        },
                    )
            flask_migrate.upgrade()
            with engine.connect() as conn:
                names = conn.execute(
                    sa.text("SELECT name FROM rooms ORDER BY created_at")
                ).scalars()
                # Greek: PostgreSQL's lower() folds capital to small sigma, SQLite's only ASCII;
                # the renaming follows the database, as the index does.
                greek = ["ΧΩΡΟΣ", "χωροσ (2)" if scratch.kind == "postgresql" else "χωροσ"]
                assert list(names) == ["Room A", "room a (3)", "ROOM A (4)", "Room A (2)", *greek]
            flask_migrate.downgrade(revision="0003")
            flask_migrate.upgrade()
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM practices")).scalar() == 1
            db.session.remove()
            engine.dispose()
    finally:
        scratch.drop()
