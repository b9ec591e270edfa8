"""An emptied or cut-back log is detected, TRUNCATE is refused, a lost checkpoint is
reported and repairable, and a log written with another chain key is told apart from an
edited one (SECURITY 32; issues 14 and 16)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from practice.audit import service as audit
from practice.audit.models import AuditCheckpoint, AuditEntry
from practice.audit.verify import verify_chain
from practice.notes import service
from practice.notes.models import ProcessNote
from tests.audit import tamper
from tests.factories import bearer, make_practice, make_team, make_user
from tests.helpers import assert_error

COUNT = 4


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["audit", *args])
    return result.exit_code, result.output


def entries(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


@pytest.fixture
def practice_log(db):
    """A practice (its creation audited) and a few more events, committed."""
    practice = make_practice()
    db.session.commit()
    tamper.write_events(db.session, COUNT, practice.id)
    return practice


def test_a_practice_creation_is_audited(db, practice_log):
    actions = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.object_id).where(
            AuditEntry.object_type == "practice"
        )
    ).all()
    assert ("practice.create", str(practice_log.id)) in actions
    assert verify_chain(db.session).ok


def test_everything_and_the_checkpoint_deleted_fails(app, db, practice_log):
    """The attack of issue 16: every entry and the checkpoint removed."""
    tamper.delete_checkpoint(db.session)
    db.session.execute(sa.text("DELETE FROM audit_entries"))
    assert entries(db.session) == 0
    result = verify_chain(db.session)
    assert not result.ok and "the log was emptied" in result.problem
    assert "1 practice(s) exist" in result.problem
    code, output = run(app, "verify")
    assert code == 1 and "BROKEN" in output and "emptied" in output


def test_a_log_cut_back_to_an_old_checkpoint_misses_a_later_practice(app, db):
    """No anchor: the old checkpoint vouches for the shortened log, but a practice created
    after it exists, and its creation is not in the log."""
    tamper.write_events(db.session, 2)
    old = db.session.execute(
        sa.text("SELECT head_seq, head_hash, signature, key_fingerprint FROM audit_checkpoint")
    ).one()
    late = make_practice("Late Practice")
    db.session.commit()
    tamper.write_events(db.session, 2)
    assert verify_chain(db.session).ok
    tamper.bypass_append_only(db.session)
    db.session.execute(sa.text("DELETE FROM audit_entries WHERE seq > 2"))
    db.session.execute(
        sa.text(
            "UPDATE audit_checkpoint SET head_seq = :s, head_hash = :h, signature = :g, "
            "key_fingerprint = :f"
        ),
        {"s": old.head_seq, "h": old.head_hash, "g": old.signature, "f": old.key_fingerprint},
    )
    result = verify_chain(db.session)
    assert not result.ok and result.bad_seq == 3
    assert f"practice {late.id} exists but its creation is not in the log" in result.problem
    code, output = run(app, "verify")
    assert code == 1 and "cut back" in output


def _signed_note(db):
    team = make_team()
    note = service.create_note(team.author, team.client, date(2026, 3, 2), {})
    service.sign_note(note)
    db.session.commit()
    return note


EMPTYING = {
    # PostgreSQL's TRUNCATE skips row triggers; statement triggers refuse it. SQLite has
    # no TRUNCATE: its equivalent, a DELETE of every row, meets the row triggers.
    "postgresql": [
        "TRUNCATE audit_entries",
        "TRUNCATE audit_checkpoint",
        "TRUNCATE note_addenda, process_notes CASCADE",
        "TRUNCATE process_notes CASCADE",
        "TRUNCATE clients CASCADE",
        "DELETE FROM audit_checkpoint",
    ],
    "sqlite": [
        "DELETE FROM audit_entries",
        "DELETE FROM audit_checkpoint",
        "DELETE FROM process_notes",
    ],
}


def test_the_database_refuses_to_empty_the_log_and_signed_notes(db):
    note = _signed_note(db)
    tamper.write_events(db.session, 1)
    before = entries(db.session)
    statements = EMPTYING[db.session.get_bind().dialect.name]
    for statement in statements:
        nested = db.session.begin_nested()
        with pytest.raises(DBAPIError) as error:
            db.session.execute(sa.text(statement))
        nested.rollback()
        message = str(error.value.orig)
        assert "refused" in message or "cannot be deleted" in message, statement
    assert entries(db.session) == before
    assert db.session.get(ProcessNote, note.id) is not None
    assert db.session.get(AuditCheckpoint, audit.DEPLOYMENT_CHAIN) is not None
    assert verify_chain(db.session).ok


def test_a_lost_checkpoint_stops_audited_writes_until_repaired(app, db, practice_log):
    """The practice's chain holds its creation and COUNT events; the deployment chain
    the practice's opening (entry 1)."""
    tamper.delete_checkpoint(db.session)
    db.session.commit()
    # Every audited write fails with a clear error instead of forking the chain.
    for practice_id in (None, practice_log.id):
        audit.record(
            db.session,
            "test.event",
            object_type="thing",
            object_id=uuid.uuid4(),
            practice_id=practice_id,
        )
        with pytest.raises(audit.CheckpointMissing):
            db.session.commit()
        db.session.rollback()
    assert entries(db.session) == COUNT + 2

    code, output = run(app, "verify")
    assert code == 1 and "checkpoint is missing" in output and "repair-checkpoint" in output
    assert "deployment chain" in output and f"practice {practice_log.id}" in output

    code, output = run(app, "repair-checkpoint")
    assert code == 0, output
    assert "of the deployment chain at entry 1 and recorded it as entry 2" in output
    assert f"practice {practice_log.id} at entry {COUNT + 1} and recorded it as entry" in output
    repair = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.chain_id == practice_log.id)
        .order_by(AuditEntry.seq.desc())
    ).first()
    assert (repair.action, repair.object_type, repair.object_id, repair.seq) == (
        audit.REPAIR_ACTION,
        "audit_log",
        str(COUNT + 1),
        COUNT + 2,
    )

    tamper.write_events(db.session, 2)  # service restored
    tamper.write_events(db.session, 1, practice_log.id)
    result = verify_chain(db.session)
    assert result.ok and result.checked == COUNT + 7
    assert len(result.notes) == 2
    assert all("rebuilt by `flask audit repair-checkpoint`" in note for note in result.notes)
    code, output = run(app, "verify")
    assert (
        code == 0
        and "note: deployment chain, entry 2" in output
        and "checkpoint was lost" in output
    )

    code, output = run(app, "repair-checkpoint")
    assert code == 1 and "present" in output


def test_a_lost_checkpoint_answers_503_over_http_not_500(app, db, client, practice_log):
    owner = make_user(practice_log, ("owner",))
    headers = bearer(owner)
    db.session.commit()
    tamper.delete_checkpoint(db.session)
    db.session.commit()
    body = assert_error(client.get("/api/v1/audit", headers=headers), 503)
    assert "misconfigured" in body["message"]


def test_repair_refuses_a_cut_behind_the_anchor(app, db, tmp_path):
    tamper.write_events(db.session, COUNT)
    anchor = tmp_path / "anchor.json"
    assert run(app, "verify", "--anchor", str(anchor))[0] == 0
    tamper.delete_checkpoint(db.session)
    tamper.delete(db.session, COUNT)
    db.session.commit()
    code, output = run(app, "repair-checkpoint", "--anchor", str(anchor))
    assert code == 1 and "not rebuilt" in output and "truncated" in output
    assert db.session.get(AuditCheckpoint, audit.DEPLOYMENT_CHAIN) is None


def test_repair_refuses_an_edited_chain(app, db):
    tamper.write_events(db.session, COUNT)
    tamper.delete_checkpoint(db.session)
    tamper.edit(db.session, 2)
    db.session.commit()
    code, output = run(app, "repair-checkpoint")
    assert code == 1 and "entry 2 was edited" in output
    assert db.session.get(AuditCheckpoint, audit.DEPLOYMENT_CHAIN) is None


def test_repair_of_an_emptied_log_is_refused(app, db, practice_log):
    tamper.delete_checkpoint(db.session)
    db.session.execute(sa.text("DELETE FROM audit_entries"))
    db.session.commit()
    code, output = run(app, "repair-checkpoint")
    assert code == 1 and "emptied" in output
    assert db.session.get(AuditCheckpoint, audit.DEPLOYMENT_CHAIN) is None


def test_another_chain_key_is_told_apart_from_an_edit(app, db):
    tamper.write_events(db.session, COUNT)
    original = app.config["SECRET_KEY"]
    try:
        app.config["SECRET_KEY"] = "another secret key, as on a fresh instance"
        result = verify_chain(db.session)
        assert not result.ok and result.wrong_key
        assert "written with another chain key" in result.problem
        assert "edited" not in result.problem.replace("not mean an entry was edited", "")
        code, output = run(app, "verify")
        assert code == 3 and "UNVERIFIABLE" in output
    finally:
        app.config["SECRET_KEY"] = original
    tamper.bypass_append_only(db.session)
    tamper.edit(db.session, 2)
    result = verify_chain(db.session)
    assert not result.wrong_key and "entry 2 was edited" in result.problem
    assert run(app, "verify")[0] == 1


def test_the_fingerprint_names_the_key_and_holds_no_key(app, db):
    tamper.write_events(db.session, 1)
    stored = db.session.get(AuditCheckpoint, audit.DEPLOYMENT_CHAIN).key_fingerprint
    assert stored == audit.key_fingerprint() and len(stored) == 32
    assert app.config["SECRET_KEY"] not in stored
    app.config["PRACTICE_AUDIT_KEY"] = "x" * 40
    try:
        assert audit.key_fingerprint() != stored
    finally:
        del app.config["PRACTICE_AUDIT_KEY"]


@pytest.fixture
def other_key(app):
    """Switch the chain key as a restore onto a server with its own secret does."""
    original = app.config["SECRET_KEY"]

    def switch() -> None:
        app.config["SECRET_KEY"] = "the secret key of the server restored onto"

    yield switch
    app.config["SECRET_KEY"] = original


def test_writing_on_with_another_key_marks_the_change_and_verify_says_so(app, db, other_key):
    tamper.write_events(db.session, COUNT)
    old_fingerprint = audit.key_fingerprint()
    other_key()
    tamper.write_events(db.session, 2)
    marker = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.seq == COUNT + 1)).one()
    assert (marker.action, marker.object_type, marker.object_id) == (
        audit.KEY_CHANGE_ACTION,
        "audit_key",
        old_fingerprint,
    )
    result = verify_chain(db.session)
    assert not result.ok and result.wrong_key and result.bad_seq == 1
    assert f"another chain key up to entry {COUNT}" in result.problem
    assert f"took over at entry {COUNT + 1}" in result.problem
    code, output = run(app, "verify")
    assert code == 3 and "was edited" not in output
    # Entries written under this key are still checked: an edit there is an edit.
    tamper.bypass_append_only(db.session)
    tamper.edit(db.session, COUNT + 2)
    result = verify_chain(db.session)
    assert not result.wrong_key and f"entry {COUNT + 2} was edited" in result.problem


def test_a_fingerprint_edited_alone_marks_nothing(app, db):
    tamper.write_events(db.session, 2)
    db.session.execute(sa.text("UPDATE audit_checkpoint SET key_fingerprint = :f"), {"f": "f" * 32})
    tamper.write_events(db.session, 1)
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert audit.KEY_CHANGE_ACTION not in actions
    assert verify_chain(db.session).ok
