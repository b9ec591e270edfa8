"""Reading a note is one statement (issue 15): the note, its client's data key and its
addenda come back together, and the note reads as it did through the entities."""

from __future__ import annotations

from datetime import date

from sqlalchemy import event

from practice.extensions import db
from practice.keys import client_keys
from practice.notes import service
from practice.notes.access import get_note_for
from tests.factories import make_client, make_practice, make_user


def test_a_signed_note_with_addenda_is_read_in_one_statement():
    practice = make_practice()
    author = make_user(practice, ("clinician",))
    client = make_client(practice, author)
    note = service.create_note(author, client, date(2026, 3, 2), {})
    service.sign_note(note)
    service.add_addendum(author, note, client, "first thought")
    service.add_addendum(author, note, client, "second thought")
    db.session.commit()
    expected = service.shown(get_note_for(author, note.id))  # through the entities
    client_keys.forget_keys()
    selects: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    bind = db.session.get_bind()
    event.listen(bind, "before_cursor_execute", count)
    try:
        read = service.read_note(author, note.id)
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len(selects) == 1
    assert read == expected
    assert [item["text"] for item in read["addenda"]] == ["first thought", "second thought"]
