"""The statement helpers of practice/database.py that bypass SQLAlchemy's execution."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from practice import database
from practice.audit.models import AuditEntry
from practice.auth.models import Practice, User
from practice.notes.models import ProcessNote
from tests.databases import TestDatabase
from tests.factories import make_practice, make_user


def test_driver_sql_compiles_once_per_dialect_in_the_drivers_paramstyle(db):
    connection = db.session.connection()
    statement = sa.insert(AuditEntry.__table__)
    keys = ("chain_id", "seq", "action")  # the whole primary key, then one more column
    sql = database.driver_sql(connection, statement, keys)
    assert sql is database.driver_sql(connection, statement, keys)
    marker = "%(seq)s" if connection.dialect.name == "postgresql" else "?"
    assert sql.startswith("INSERT INTO audit_entries (chain_id, seq, action)") and marker in sql


def test_driver_sql_refuses_a_table_whose_defaults_only_sqlalchemy_would_apply(db):
    with pytest.raises(TypeError, match="column defaults"):
        database.driver_sql(db.session.connection(), sa.insert(ProcessNote.__table__))


def test_only_psycopg_connections_are_pipelined(db):
    other_driver = SimpleNamespace(dialect=SimpleNamespace(name="postgresql", driver="pg8000"))
    assert not database.pipelined(other_driver)
    connection = db.session.connection()
    assert database.pipelined(connection) == (connection.dialect.driver == "psycopg")


_CALLER = (
    sa.select(*User.__table__.c, *Practice.__table__.c)
    .join_from(User.__table__, Practice.__table__, Practice.id == User.practice_id)
    .where(User.id == sa.bindparam("user_id"))
)
_USER_COLUMNS = list(User.__table__.c.keys())


def test_read_first_returns_what_sqlalchemy_returns(db):
    user = make_user(make_practice(), ("clinician",))
    db.session.flush()
    connection = db.session.connection()
    row = database.read_first(connection, _CALLER, {"user_id": user.id})
    assert row == tuple(connection.execute(_CALLER, {"user_id": user.id}).first())
    found = row[_USER_COLUMNS.index("id")]
    assert found == user.id and found.__class__ is uuid.UUID
    created = row[_USER_COLUMNS.index("created_at")]
    assert created.tzinfo is not None and created.utcoffset().total_seconds() == 0
    assert database.read_first(connection, _CALLER, {"user_id": uuid.uuid4()}) is None


def test_adopt_gives_a_clean_persistent_object_or_the_one_the_session_holds(db):
    user = make_user(make_practice(), ("clinician",))
    db.session.commit()
    row = database.read_first(db.session.connection(), _CALLER, {"user_id": user.id})
    keys = database.attribute_keys(User, User.__table__)
    values = dict(zip(keys, row[: len(keys)], strict=True))
    assert database.adopt(db.session, User, values) is user  # already in the session
    db.session.expunge_all()
    adopted = database.adopt(db.session, User, values)
    state = sa.inspect(adopted)
    assert adopted is not user and state.persistent and not state.modified
    assert adopted.email == user.email and adopted.practice.id == user.practice_id
    assert not db.session.dirty and not db.session.new
    assert database.adopt(db.session, User, values) is adopted


def _own_engine(tmp_path) -> sa.Engine:
    """An engine of the test's own (not the app's, whose pool the test transaction holds)."""
    if TestDatabase().kind == "sqlite":
        return sa.create_engine(f"sqlite:///{tmp_path / 'own.db'}")
    return sa.create_engine(TestDatabase().url.rsplit("/", 1)[0] + "/postgres")


@pytest.mark.skipif(TestDatabase().kind != "postgresql", reason="a server to lose: PostgreSQL")
def test_an_idle_connection_is_pinged_and_a_lost_one_replaced(tmp_path):
    engine = _own_engine(tmp_path)
    database.ping_when_idle(engine, idle_seconds=0.05)
    pid = "SELECT pg_backend_pid()"
    try:
        with engine.connect() as doomed, engine.connect() as other:
            lost = doomed.exec_driver_sql(pid).scalar()
            doomed.rollback()
            other.exec_driver_sql(f"SELECT pg_terminate_backend({lost})")
        time.sleep(0.1)
        with engine.connect() as first, engine.connect() as second:
            # The lost one was pinged, dropped and replaced: no error, another backend.
            pids = {first.exec_driver_sql(pid).scalar(), second.exec_driver_sql(pid).scalar()}
        assert lost not in pids
    finally:
        engine.dispose()


def test_a_connection_back_in_the_pool_a_moment_ago_is_not_pinged(tmp_path, monkeypatch):
    engine = _own_engine(tmp_path)
    database.ping_when_idle(engine, idle_seconds=60)
    pings = []
    original = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(1) or original(c))
    try:
        for _ in range(3):
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        assert pings == []
        database.ping_when_idle(engine, idle_seconds=0)
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        assert pings == [1]
    finally:
        engine.dispose()
