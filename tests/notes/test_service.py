"""The notes service without HTTP: therapist figure, references, compare-and-set, merging."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from practice import database
from practice.auth.models import Supervision
from practice.clients.models import Client
from practice.database import insert_now, utcnow
from practice.keys import client_keys
from practice.notes import figures, rules, scripts, service
from practice.notes.models import Figure, ProcessNote
from tests.factories import (
    link_supervisor,
    make_appointment,
    make_client,
    make_practice,
    make_user,
)


@pytest.fixture
def clinic(db):
    practice = make_practice()
    owner = make_user(practice, ("owner",))
    author = make_user(practice, ("clinician",))
    other = make_user(practice, ("clinician",))
    supervisor = make_user(practice, ("supervisor",))
    link_supervisor(owner, supervisor, author)
    client = make_client(practice, author, care_team=[other])
    return {
        "author": author,
        "other": other,
        "supervisor": supervisor,
        "client": client,
        "second": make_client(practice, author),
    }


def test_therapist_figure_is_created_once_and_encrypted(db, clinic):
    client = clinic["client"]
    first = figures.ensure_therapist_figure(client)
    assert figures.ensure_therapist_figure(client).id == first.id
    count = sa.select(sa.func.count()).select_from(Figure).where(Figure.client_id == client.id)
    assert db.session.scalar(count) == 1
    assert b"Therapist" not in first.payload
    view = figures.figure_view(first, client_keys.client_cipher(client))
    assert (view["role"], view["label"], view["is_therapist"]) == ("therapist", "Therapist", True)


def test_references_must_be_the_clients_own(db, clinic):
    mine = scripts.create_script(clinic["author"], clinic["client"], {"name": "a"}, "working")
    theirs = scripts.create_script(clinic["author"], clinic["second"], {"name": "b"}, "working")
    service.check_references(clinic["client"], {"scripts_active": [str(mine.id)]})
    with pytest.raises(rules.Invalid) as info:
        service.check_references(clinic["client"], {"scripts_active": [str(theirs.id)]})
    assert info.value.errors == {
        "content": {"scripts_active": {0: ["No such script for this client."]}}
    }


def test_stale_version_never_overwrites(db, clinic):
    note = service.create_note(clinic["author"], clinic["client"], date(2026, 3, 2), {})
    service.replace_note_content(note, clinic["client"], {"ipt_focus": "grief"}, 1)
    assert note.version == 2
    with pytest.raises(rules.Stale):
        service.replace_note_content(note, clinic["client"], {"ipt_focus": "role_dispute"}, 1)
    cipher = client_keys.client_cipher(clinic["client"])
    assert service.note_view(note, cipher)["content"] == {"ipt_focus": "grief"}
    service.sign_note(note)
    with pytest.raises(rules.Conflict):
        service.replace_note_content(note, clinic["client"], {}, note.version)
    with pytest.raises(rules.Conflict):
        service.sign_note(note)


def test_addenda_only_on_signed_notes(db, clinic):
    note = service.create_note(clinic["author"], clinic["client"], date(2026, 3, 2), {})
    with pytest.raises(rules.Conflict):
        service.add_addendum(clinic["author"], note, clinic["client"], "too early")
    service.sign_note(note)
    addendum = service.add_addendum(clinic["author"], note, clinic["client"], "later thought")
    assert b"later thought" not in addendum.text
    view = service.note_view(
        note, client_keys.client_cipher(clinic["client"]), service.addenda_of(note)
    )
    assert [a["text"] for a in view["addenda"]] == ["later thought"]


def test_merge_chains_fold_into_the_survivor(db, clinic):
    client, author = clinic["client"], clinic["author"]
    a, b, c = (scripts.create_script(author, client, {"name": n}, "hypothesis") for n in "abc")
    scripts.merge_script(client, a, b.id)
    scripts.merge_script(client, b, c.id)
    db.session.refresh(a)
    assert a.merged_into_id == c.id and scripts.survivor_of(a).id == c.id
    with pytest.raises(rules.Conflict):
        scripts.update_script(client, a, {"name": "x"}, a.version)
    with pytest.raises(rules.Invalid):
        scripts.merge_script(client, c, a.id)


def test_note_lists_hold_only_readable_authors(db, clinic):
    client = clinic["client"]
    service.create_note(clinic["author"], client, date(2026, 3, 2), {})
    service.create_note(clinic["other"], client, date(2026, 3, 3), {})

    def authors(user):
        visible = service.note_authors_for(user, client)
        return {n.author_id for n in db.session.scalars(service.notes_query(visible, client))}

    assert authors(clinic["author"]) == {clinic["author"].id}
    assert authors(clinic["other"]) == {clinic["other"].id}
    assert authors(clinic["supervisor"]) == {clinic["author"].id}
    assert service.note_authors_for(clinic["other"], clinic["second"]) == set()


def test_list_access_follows_authorship_not_only_the_care_team(db, clinic):
    """The list and theme history follow the rule for one note: author, or supervisor."""
    client, author, supervisor = clinic["client"], clinic["author"], clinic["supervisor"]
    service.create_note(author, client, date(2026, 3, 2), {})
    # The author hands the client over: they still list their own notes, and so does
    # their supervisor, though nobody they supervise is assigned any more.
    client.primary_clinician_id = clinic["other"].id
    db.session.flush()
    assert not client.is_assigned(author.id)
    assert service.note_authors_for(author, client) == {author.id}
    assert author.id in service.note_authors_for(supervisor, client)
    # A client the supervisee never wrote about and is not assigned to: nothing to see.
    third = make_client(clinic["other"].practice, clinic["other"])
    assert service.note_authors_for(supervisor, third) == set()
    # The link ends: the supervisor sees nothing.
    link = db.session.scalars(sa.select(Supervision).where(Supervision.supervisee_id == author.id))
    link.one().ended_at = utcnow()
    db.session.flush()
    assert service.note_authors_for(supervisor, client) == set()


def test_one_note_per_appointment_of_the_same_client(db, clinic):
    client = clinic["client"]
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    appointment = make_appointment(
        client, clinic["author"], starts_at=start, minutes=60, modality="video"
    )
    day = date(2026, 3, 2)
    with pytest.raises(rules.Invalid) as info:
        service.create_note(clinic["author"], clinic["second"], day, {}, appointment.id)
    assert "appointment_id" in info.value.errors
    note = service.create_note(clinic["author"], client, day, {}, appointment.id)
    assert note.appointment_id == appointment.id
    with pytest.raises(rules.Conflict):
        service.create_note(clinic["author"], client, day, {}, appointment.id)


def test_a_second_note_for_an_appointment_is_a_conflict(db, clinic):
    """check_references finds the note (in the query it makes anyway); the session goes on."""
    client = clinic["client"]
    appointment = make_appointment(client, clinic["author"])
    day = appointment.starts_at.date()
    first = service.create_note(clinic["author"], client, day, {}, appointment.id)
    with pytest.raises(rules.Conflict):
        service.create_note(clinic["author"], client, day, {}, appointment.id)
    # The database kept the first note; the refused one is not left in the session.
    holders = sa.select(ProcessNote.id).where(ProcessNote.appointment_id == appointment.id)
    assert db.session.scalars(holders).all() == [first.id]
    assert not db.session.new
    assert [n for n in db.session.identity_map.values() if isinstance(n, ProcessNote)] == [first]


def test_an_appointment_taken_by_a_concurrent_request_is_a_conflict_too(db, clinic, monkeypatch):
    """Between check_references and the insert another request can take the appointment:
    the unique index refuses the row and the answer is the same Conflict."""
    client = clinic["client"]
    appointment = make_appointment(client, clinic["author"])
    day = appointment.starts_at.date()
    first = service.create_note(clinic["author"], client, day, {}, appointment.id)
    db.session.commit()
    monkeypatch.setattr(service, "check_references", lambda *_args: None)  # the race window
    with pytest.raises(rules.Conflict, match="already has a note"):
        service.create_note(clinic["author"], client, day, {}, appointment.id)
    assert not db.session.new
    db.session.rollback()
    holders = sa.select(ProcessNote.id).where(ProcessNote.appointment_id == appointment.id)
    assert db.session.scalars(holders).all() == [first.id]


def test_other_integrity_errors_of_a_note_insert_are_not_called_a_taken_appointment(
    db, clinic, monkeypatch
):
    monkeypatch.setattr(service, "check_references", lambda *_args: None)
    missing = uuid.uuid4()  # no such appointment: the foreign key refuses it
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        service.create_note(clinic["author"], clinic["client"], date(2026, 3, 2), {}, missing)


def test_a_new_note_is_persistent_without_a_flush_and_reads_nothing_back(db, clinic):
    """create_note inserts with one statement and attaches the note (database.insert_now)."""
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    note = service.create_note(clinic["author"], clinic["client"], date(2026, 3, 2), {})
    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert sa.inspect(note).persistent
        assert db.session.get(ProcessNote, note.id) is note  # in the identity map
        assert (note.status, note.version, note.template_version) == ("draft", 1, 1)
        assert note.created_at == note.updated_at and note.created_at.tzinfo is not None
        assert note.signed_at is None and note.appointment_id is None
        assert not db.session.new and not db.session.dirty
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert statements == []  # every attribute was set: nothing lazy-loaded
    stored = db.session.execute(
        sa.select(ProcessNote.status, ProcessNote.version, ProcessNote.content).where(
            ProcessNote.id == note.id
        )
    ).one()
    assert (stored.status, stored.version, stored.content) == ("draft", 1, note.content)


def _unsaved_note(clinic, day: date, **columns) -> ProcessNote:
    """A note object built by hand (not through the service), for insert_now."""
    return ProcessNote(
        practice_id=clinic["client"].practice_id,
        client_id=clinic["client"].id,
        author_id=clinic["author"].id,
        session_date=day,
        content=b"sealed elsewhere",
        **columns,
    )


def test_insert_now_applies_column_defaults_the_object_left_unset(db, clinic):
    note = _unsaved_note(clinic, date(2026, 3, 3))
    insert_now(db.session, note)
    assert note.id is not None and (note.status, note.version) == ("draft", 1)
    db.session.expire(note)
    assert (note.status, note.version, note.template_version) == ("draft", 1, 1)
    assert note.created_at is not None


def test_a_note_in_a_rolled_back_savepoint_is_gone_from_the_session_too(db, clinic):
    """insert_now leaves what a flush leaves: the rollback expunges the object, so the
    session cannot hand out a note whose row no longer exists."""
    savepoint = db.session.begin_nested()
    note = service.create_note(clinic["author"], clinic["client"], date(2026, 3, 4), {})
    note_id = note.id
    savepoint.rollback()
    assert not sa.inspect(note).persistent
    assert db.session.get(ProcessNote, note_id) is None
    assert db.session.scalar(sa.select(ProcessNote.id).where(ProcessNote.id == note_id)) is None
    # The session goes on working: a new note in the outer transaction is kept.
    kept = service.create_note(clinic["author"], clinic["client"], date(2026, 3, 5), {})
    db.session.flush()
    assert db.session.get(ProcessNote, kept.id) is kept


def test_a_note_kept_by_a_savepoint_goes_when_the_transaction_around_it_is_rolled_back(db, clinic):
    """The note belongs to the transaction it was inserted in and to every one around it:
    a released savepoint hands it to the outer transaction, whose rollback expunges it;
    a commit keeps it."""
    outer = db.session.begin_nested()
    with db.session.begin_nested():
        dropped = service.create_note(clinic["author"], clinic["client"], date(2026, 3, 7), {})
    assert sa.inspect(dropped).persistent
    outer.rollback()
    assert not sa.inspect(dropped).persistent
    kept = service.create_note(clinic["author"], clinic["client"], date(2026, 3, 8), {})
    with db.session.begin_nested():
        pass
    assert sa.inspect(kept).persistent and db.session.get(ProcessNote, kept.id) is kept


def test_insert_now_keeps_explicit_nulls_and_refuses_what_it_cannot_do(db, clinic):
    # status explicitly NULL: not replaced by the default ("draft")
    note = _unsaved_note(clinic, date(2026, 3, 6), status=None)
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        try:
            insert_now(db.session, note)  # status is NOT NULL: the database refuses it
        finally:
            assert note not in db.session  # not left pending for a later flush
    with pytest.raises(TypeError, match="relationships"):
        insert_now(db.session, Client(practice_id=clinic["client"].practice_id))
    assert database._python_default(sa.Column("x", sa.Integer, default=7)) == 7
    with pytest.raises(TypeError, match="server default"):
        database._python_default(sa.Column("x", sa.Integer, server_default=sa.text("7")))
    with pytest.raises(TypeError, match="SQL default"):
        database._python_default(sa.Column("x", sa.Integer, default=sa.text("7")))
