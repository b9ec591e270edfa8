"""The hash chain: `verify_chain` and `flask audit verify` name the first bad entry."""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from practice.audit import service as audit
from practice.audit.models import AuditCheckpoint, AuditEntry
from practice.audit.verify import verify_chain
from practice.extensions import db as _db
from tests.audit import tamper
from tests.databases import TestDatabase

COUNT = 6


@pytest.fixture
def chain(db):
    tamper.write_events(db.session, COUNT)
    return db.session


def run_verify(app, *options):
    result = app.test_cli_runner().invoke(args=["audit", "verify", *options])
    return result.exit_code, result.output


def test_empty_log_verifies(app, db):
    assert verify_chain(db.session).ok
    assert run_verify(app)[0] == 0


def test_intact_chain_verifies(app, chain):
    result = verify_chain(chain)
    assert result.ok and result.checked == COUNT
    code, output = run_verify(app)
    assert code == 0
    assert f"intact: {COUNT} entries" in output


def test_entries_link_and_checkpoint_names_head(chain):
    entries = chain.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [e.seq for e in entries] == list(range(1, COUNT + 1))
    assert entries[0].prev_hash == audit.GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    checkpoint = chain.get(AuditCheckpoint, audit.DEPLOYMENT_CHAIN)
    assert (checkpoint.head_seq, checkpoint.head_hash) == (COUNT, entries[-1].entry_hash)


TAMPERING = [
    ("edited", lambda s: tamper.edit(s, 3), 3, "entry 3 was edited"),
    ("edited and rehashed", lambda s: tamper.edit_and_rehash(s, 4), 4, "entry 4 was edited"),
    ("edited first", lambda s: tamper.edit(s, 1), 1, "entry 1 was edited"),
    ("deleted", lambda s: tamper.delete(s, 3), 3, "entry 3 is missing"),
    ("reordered", lambda s: tamper.swap(s, 2, 3), 2, "entry 2 does not follow"),
    ("inserted in the middle", lambda s: tamper.insert_after(s, 2), 3, "entry 3"),
    ("appended", lambda s: tamper.append(s, COUNT), COUNT + 1, "after the signed head"),
    ("tail truncated", lambda s: tamper.delete(s, COUNT - 1, COUNT), COUNT - 1, "truncated"),
    ("last entry truncated", lambda s: tamper.delete(s, COUNT), COUNT, "truncated"),
    ("everything deleted", lambda s: tamper.delete(s, *range(1, COUNT + 1)), 1, "truncated"),
]


@pytest.mark.parametrize(
    ("damage", "bad_seq", "words"),
    [pytest.param(t[1], t[2], t[3], id=t[0]) for t in TAMPERING],
)
def test_tampering_names_first_bad_entry(app, chain, damage, bad_seq, words):
    tamper.bypass_append_only(chain)
    damage(chain)
    result = verify_chain(chain)
    assert not result.ok
    assert result.bad_seq == bad_seq
    assert words in result.problem
    code, output = run_verify(app)
    assert code != 0
    assert f"entry {bad_seq}" in output
    assert words in output


def test_forged_checkpoint_is_detected(app, chain):
    chain.execute(sa.text("UPDATE audit_checkpoint SET head_seq = 3"))
    result = verify_chain(chain)
    assert not result.ok and "signature" in result.problem
    assert run_verify(app)[0] != 0


def test_missing_checkpoint_is_detected(app, chain):
    tamper.delete_checkpoint(chain)
    result = verify_chain(chain)
    assert not result.ok and "checkpoint is missing" in result.problem
    assert f"entries up to {COUNT}" in result.problem and "repair-checkpoint" in result.problem
    assert run_verify(app)[0] == 1


def test_checkpoint_signed_with_another_key_is_refused(app, chain):
    with app.test_request_context():
        app.config["SECRET_KEY"], original = "another-key", app.config["SECRET_KEY"]
        try:
            assert not verify_chain(chain).ok
        finally:
            app.config["SECRET_KEY"] = original
    assert verify_chain(chain).ok


def test_verify_works_in_small_batches(chain):
    result = verify_chain(chain, batch=2)
    assert result.ok and result.checked == COUNT
    tamper.bypass_append_only(chain)
    tamper.edit(chain, 5)
    assert verify_chain(chain, batch=2).bad_seq == 5


def test_verify_leaves_the_callers_session_alone(db, chain):
    pending = AuditCheckpoint(chain_id=uuid.uuid4(), head_seq=0, head_hash="x", signature="y")
    chain.add(pending)
    verify_chain(chain)
    assert pending in chain


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'x.y'",
        "DELETE FROM audit_entries",
        "DELETE FROM audit_checkpoint",
    ],
)
def test_database_refuses_update_and_delete(chain, statement):
    nested = chain.begin_nested()
    with pytest.raises(DBAPIError) as error:
        chain.execute(sa.text(statement))
    nested.rollback()
    assert "append-only" in str(error.value.orig) or "cannot be deleted" in str(error.value.orig)
    assert verify_chain(chain).ok


def test_audit_columns_accept_identifiers_only(db):
    with pytest.raises(ValueError):
        audit.record(db.session, "note.read", object_id="the client cried about her father")
    with pytest.raises(ValueError):
        audit.record(db.session, "Free text here")
    with pytest.raises(ValueError):
        audit.record(db.session, "note.read", object_type="a note about grief")
    with pytest.raises(ValueError):
        audit.record(db.session, "note.read", outcome="maybe")
    audit.record(db.session, "keys.rotate", object_type="master_key", object_id="k1a2b3c4")
    audit.record(db.session, "note.read", object_type="note", object_id=str(uuid.uuid4()))
    db.session.commit()
    assert verify_chain(db.session).checked == 2


def test_rolled_back_successes_vanish_and_refusals_stay(db):
    audit.record(db.session, "note.read", object_id=uuid.uuid4())
    audit.record(db.session, "access.denied", object_id=uuid.uuid4(), outcome="denied")
    db.session.rollback()
    db.session.commit()
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert actions == ["access.denied"]
    assert verify_chain(db.session).ok


def test_savepoint_rollback_keeps_earlier_successes(db):
    audit.record(db.session, "note.read", object_id=uuid.uuid4())
    nested = db.session.begin_nested()
    nested.rollback()
    db.session.commit()
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["note.read"]


def test_a_failed_chain_write_is_sqlalchemys_error_and_leaves_nothing(db, chain):
    """On PostgreSQL the chain's statements run on psycopg directly (pipelined); a
    failure there still comes out as SQLAlchemy's error and the commit leaves nothing."""
    tamper.squat(chain, COUNT + 1)  # an entry on the next seq, behind the checkpoint
    chain.commit()
    audit.record(chain, "note.read", object_type="note", object_id=uuid.uuid4())
    with pytest.raises(sa.exc.IntegrityError):
        chain.commit()
    chain.rollback()
    assert chain.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == COUNT + 1
    assert chain.get(AuditCheckpoint, audit.DEPLOYMENT_CHAIN).head_seq == COUNT


@pytest.mark.live
@pytest.mark.skipif(TestDatabase().kind != "postgresql", reason="a server-side disconnect")
@pytest.mark.parametrize("lost", ["before the chain lock", "before the pipelined append"])
def test_a_lost_connection_in_the_chain_write_is_an_invalidated_operational_error(
    live_server, monkeypatch, lost
):
    """What http.database_down answers 503, and a fresh connection next time: the same
    as when the statements go through SQLAlchemy."""
    with live_server.app.app_context():
        session = _db.session
        audit.record(session, "note.read", object_type="note", object_id=uuid.uuid4())
        pid = session.scalar(sa.text("SELECT pg_backend_pid()"))

        def terminate() -> None:
            with _db.engine.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        if lost == "before the chain lock":
            terminate()
        else:
            read_head = audit._read_head

            def read_then_lose(connection, chain, **options):
                head = read_head(connection, chain, **options)
                terminate()
                return head

            monkeypatch.setattr(audit, "_read_head", read_then_lose)
        with pytest.raises(sa.exc.OperationalError) as info:
            session.commit()
        assert info.value.connection_invalidated
        session.rollback()
        monkeypatch.undo()
        assert session.scalar(sa.text("SELECT pg_backend_pid()")) != pid
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_the_chain_is_the_only_before_commit_listener():
    """On PostgreSQL the chain's append carries the transaction's COMMIT: nothing may be
    written by a before_commit listener that runs after it, so there is no other."""
    root = Path(audit.__file__).parents[1]
    registering = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "before_commit" in path.read_text("utf-8")
    )
    assert registering == ["audit/service.py"]


def test_a_released_savepoint_leaves_the_chain_to_the_outer_commit(db):
    """SQLAlchemy runs before_commit for a savepoint too; the chain (and on PostgreSQL its
    row lock) must wait for the outermost commit, so it stays the last lock taken."""
    audit.record(db.session, "note.read", object_type="note", object_id=uuid.uuid4())
    with db.session.begin_nested():
        pass
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0
    if db.session.get_bind().dialect.name == "postgresql":
        locks = sa.text(
            "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation "
            "WHERE pg_class.relname = 'audit_checkpoint' AND pg_locks.pid = pg_backend_pid()"
        )
        assert db.session.scalar(locks) == 0
    db.session.commit()
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["note.read"]


def test_an_anchor_catches_a_cut_behind_a_replayed_checkpoint(app, db, tmp_path):
    """Someone with write access keeps the signed checkpoint of entry 3, later deletes
    entries 4-6 and puts it back: the chain alone looks intact; the anchor does not."""
    anchor = tmp_path / "audit-anchor.json"
    tamper.write_events(db.session, 3)
    old = db.session.execute(
        sa.text("SELECT head_seq, head_hash, signature FROM audit_checkpoint")
    ).one()
    tamper.write_events(db.session, 3)
    code, output = run_verify(app, "--anchor", str(anchor))
    assert code == 0 and "anchored entry 6" in output, output
    assert oct(anchor.stat().st_mode & 0o777) == "0o600"
    tamper.bypass_append_only(db.session)
    db.session.execute(sa.text("DELETE FROM audit_entries WHERE seq > 3"))
    db.session.execute(
        sa.text("UPDATE audit_checkpoint SET head_seq = :s, head_hash = :h, signature = :g"),
        {"s": old.head_seq, "h": old.head_hash, "g": old.signature},
    )
    assert verify_chain(db.session).ok  # what the checkpoint alone cannot see
    code, output = run_verify(app, "--anchor", str(anchor))
    assert code != 0 and "truncated" in output and "entry 6" in output
    assert '"seq": 6' in anchor.read_text()  # a failed run leaves the anchor as it was
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []


def test_an_anchor_catches_a_rewritten_entry_and_refuses_a_bad_file(app, chain, tmp_path):
    anchor = tmp_path / "audit-anchor.json"
    assert run_verify(app, "--anchor", str(anchor))[0] == 0
    assert run_verify(app, "--anchor", str(anchor))[0] == 0  # and again: the anchor moves along
    anchor.write_text(json.dumps({"seq": COUNT, "entry_hash": "0" * 64}))
    code, output = run_verify(app, "--anchor", str(anchor))
    assert code != 0 and f"entry {COUNT} is not the one" in output
    malformed = ("not json", '{"seq": -1, "entry_hash": "x"}', '{"seq": "6"}', "[]", "6", "null")
    for text in (*malformed, '{"seq": true, "entry_hash": "x"}'):
        anchor.write_text(text)
        code, output = run_verify(app, "--anchor", str(anchor))
        assert code != 0 and "anchor" in output and "Traceback" not in output


def test_secret_key_rotates_alone_once_the_audit_key_holds_the_old_one(app, chain):
    """The README's procedure: PRACTICE_AUDIT_KEY := the current SECRET_KEY, then a new
    SECRET_KEY. The chain written before stays verifiable, and new entries join it."""
    old_secret = app.config["SECRET_KEY"]
    try:
        app.config["PRACTICE_AUDIT_KEY"] = old_secret
        app.config["SECRET_KEY"] = "a completely new secret key of forty-plus chars"
        assert verify_chain(chain).ok
        tamper.write_events(chain, 2)
        result = verify_chain(chain)
        assert result.ok and result.checked == COUNT + 2
        del app.config["PRACTICE_AUDIT_KEY"]  # forgetting the audit key breaks verification
        assert not verify_chain(chain).ok
    finally:
        app.config["SECRET_KEY"] = old_secret
        app.config.pop("PRACTICE_AUDIT_KEY", None)
