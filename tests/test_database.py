"""The statement helpers of practice/database.py that bypass SQLAlchemy's execution."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from practice import database
from practice.audit.models import AuditEntry
from practice.notes.models import ProcessNote


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
