"""A signed note and its addenda cannot change in the database either (migration 0008),
whatever SQL reaches it; a draft stays writable."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from practice.notes import service
from tests.factories import make_team


@pytest.fixture
def signed(db):
    team = make_team()
    note = service.create_note(team.author, team.client, date(2026, 3, 2), {})
    draft = service.create_note(team.author, team.client, date(2026, 3, 9), {})
    service.sign_note(note)
    addendum = service.add_addendum(team.author, note, team.client, "a later correction")
    db.session.flush()
    return note, addendum, draft


def _by_id(sql: str) -> sa.TextClause:
    return sa.text(sql).bindparams(sa.bindparam("id", type_=sa.Uuid()))


STATUS = _by_id("SELECT status FROM process_notes WHERE id = :id")
REFUSED = [
    ("UPDATE process_notes SET content = content WHERE id = :id", "note"),
    ("UPDATE process_notes SET status = 'draft' WHERE id = :id", "note"),
    ("DELETE FROM process_notes WHERE id = :id", "note"),
    ("UPDATE note_addenda SET text = text WHERE id = :id", "addendum"),
    ("DELETE FROM note_addenda WHERE id = :id", "addendum"),
]


@pytest.mark.parametrize(("sql", "target"), REFUSED, ids=[sql[:28] for sql, _ in REFUSED])
def test_the_database_refuses_to_change_a_signed_record(db, signed, sql, target):
    note, addendum, _draft = signed
    row_id = (note if target == "note" else addendum).id
    with pytest.raises(sa.exc.DBAPIError, match="signed record"), db.session.begin_nested():
        db.session.execute(_by_id(sql), {"id": row_id})
    assert db.session.scalar(STATUS, {"id": note.id}) == "signed"


def test_a_draft_stays_writable_and_can_be_signed(db, signed):
    _note, _addendum, draft = signed
    key = draft.id.hex if _sqlite(db) else draft.id
    db.session.execute(
        sa.text("UPDATE process_notes SET template_version = 1 WHERE id = :id"), {"id": key}
    )
    db.session.refresh(draft)
    service.sign_note(draft)
    db.session.flush()
    assert (
        db.session.scalar(sa.text("SELECT status FROM process_notes WHERE id = :id"), {"id": key})
        == "signed"
    )


def _sqlite(db) -> bool:
    return db.session.get_bind().dialect.name == "sqlite"
