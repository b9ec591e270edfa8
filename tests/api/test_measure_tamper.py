"""A recorded measure form is final, in the database too: a database administrator
cannot delete a form (say, the one whose item 9 raised the risk flag), relabel it as
another instrument, move it to another session or date, put other sealed bytes in, or
take back a void; the only change the database lets through is the void itself."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.api.test_measures import phq9, record, sessions, url
from tests.helpers import auth

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def _key(db, row_id):
    row_id = uuid.UUID(str(row_id))
    return row_id.hex if db.engine.dialect.name == "sqlite" else row_id


REFUSED = [
    "DELETE FROM measure_scores WHERE id = :id",
    "UPDATE measure_scores SET instrument = 'gad7' WHERE id = :id",
    "UPDATE measure_scores SET session_date = '2020-01-01' WHERE id = :id",
    "UPDATE measure_scores SET appointment_id = :other WHERE id = :id",
    "UPDATE measure_scores SET responses = (SELECT responses FROM measure_scores"
    " WHERE id = :other_form) WHERE id = :id",
    "UPDATE measure_scores SET voided_at = CURRENT_TIMESTAMP, voided_by = recorded_by,"
    " void_reason = 'duplicate', instrument = 'gad7' WHERE id = :id",
]


@pytest.mark.parametrize("sql", REFUSED, ids=[sql[:40] for sql in REFUSED])
def test_the_database_refuses_to_change_or_delete_a_form(client, db, team, sql):
    first, second = sessions(team, 2)
    risky = record(client, team, first, phq9(12, item9=2)).get_json()
    other = record(client, team, second, phq9(4)).get_json()
    params = {
        "id": _key(db, risky["id"]),
        "other": _key(db, second.id),
        "other_form": _key(db, other["id"]),
    }
    with pytest.raises(sa.exc.DBAPIError, match="refused"), db.session.begin_nested():
        db.session.execute(sa.text(sql), params)


def test_a_void_goes_through_once_and_is_never_taken_back(client, db, team):
    (first,) = sessions(team, 1)
    form = record(client, team, first, phq9(12, item9=2)).get_json()
    voided = client.post(
        f"{url(team.client)}/{form['id']}/void",
        json={"reason": "wrong_answers"},
        headers=auth(team.author),
    )
    assert voided.status_code == 200, voided.get_json()
    for sql in (
        "UPDATE measure_scores SET voided_at = NULL, voided_by = NULL, void_reason = NULL"
        " WHERE id = :id",
        "UPDATE measure_scores SET void_reason = 'duplicate' WHERE id = :id",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="refused"), db.session.begin_nested():
            db.session.execute(sa.text(sql), {"id": _key(db, form["id"])})


def test_emptying_the_table_is_refused(client, db, team):
    (first,) = sessions(team, 1)
    record(client, team, first, phq9(12))
    postgres = db.engine.dialect.name == "postgresql"
    sql = "TRUNCATE measure_scores CASCADE" if postgres else "DELETE FROM measure_scores"
    with pytest.raises(sa.exc.DBAPIError, match="refused"), db.session.begin_nested():
        db.session.execute(sa.text(sql))
