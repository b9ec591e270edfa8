"""Deferred sealing (issue 15): an audited request only queues its entries, without the
chain's lock; the sealer appends them to their chains in order, exactly as an inline
commit would; verify reports waiting entries as pending, not broken, and names one
edited while it waited."""

from __future__ import annotations

import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from practice.audit import sealer
from practice.audit import service as audit
from practice.audit.chain_state import chain_state
from practice.audit.cli import read_anchor
from practice.audit.models import AuditCheckpoint, AuditEntry, AuditPending
from practice.audit.verify import verify_chain
from practice.extensions import db as _db
from tests.audit import tamper
from tests.databases import TestDatabase
from tests.factories import bearer, make_client, make_practice, make_user

postgresql_only = pytest.mark.skipif(
    TestDatabase().kind != "postgresql", reason="deferred sealing is PostgreSQL's"
)


def count(session, table) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(table))


def head(session, chain: uuid.UUID) -> int | None:
    return session.scalar(
        sa.select(AuditCheckpoint.head_seq).where(AuditCheckpoint.chain_id == chain)
    )


@pytest.fixture
def deferred(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SEALING", "deferred")


@pytest.fixture
def practice(db):
    practice = make_practice("Sealing Practice")
    db.session.commit()
    return practice


@postgresql_only
def test_a_deferred_commit_queues_its_entries_and_the_sealer_chains_them_in_order(
    db, practice, deferred
):
    before, sealed_before = head(db.session, practice.id), count(db.session, AuditEntry)
    ids = [uuid.uuid4() for _ in range(5)]
    for object_id in ids:
        audit.record(
            db.session, "test.event", object_type="thing", object_id=object_id,
            practice_id=practice.id,
        )  # fmt: skip
        db.session.commit()
    # Nothing touched the chain: no entry, no checkpoint move.
    assert count(db.session, AuditPending) == 5
    assert count(db.session, AuditEntry) == sealed_before
    assert head(db.session, practice.id) == before
    result = verify_chain(db.session)
    assert result.ok, result.problem
    assert result.pending == 5 and result.oldest_pending is not None

    done = sealer.seal(db.session.connection())
    assert (done.sealed, done.refused, done.busy) == (5, 0, 0)
    assert count(db.session, AuditPending) == 0
    assert head(db.session, practice.id) == before + 5
    chained = db.session.scalars(
        sa.select(AuditEntry.object_id)
        .where(AuditEntry.chain_id == practice.id, AuditEntry.seq > before)
        .order_by(AuditEntry.seq)
    ).all()
    assert chained == [str(i) for i in ids]  # in the order they were recorded
    result = verify_chain(db.session)
    assert result.ok and result.pending == 0, result.problem
    assert sealer.seal(db.session.connection()).sealed == 0  # nothing left


@postgresql_only
def test_a_practice_created_under_deferred_sealing_is_complete_while_it_waits(db, deferred):
    """Its creation (on its own chain) and its chain's opening (on the deployment
    chain) both wait: verify must not call the log cut back, nor the chain deleted."""
    created = make_practice("Waiting Practice")
    db.session.commit()
    assert head(db.session, created.id) is None  # the first sealing creates the checkpoint
    for result in (verify_chain(db.session), verify_chain(db.session, practice=created.id)):
        assert result.ok, result.problem
        assert result.pending >= 1
    sealer.seal(db.session.connection())
    assert head(db.session, created.id) == 1
    result = verify_chain(db.session)
    assert result.ok and result.pending == 0, result.problem


@postgresql_only
def test_a_pending_entry_edited_while_it_waits_is_named_then_refused_on_its_chain(
    db, practice, deferred
):
    """Never sealed, never left to block the queue: the chain records the refusal in its
    place, and verify reports that entry from then on."""
    for _ in range(3):
        audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
        db.session.commit()
    victim = db.session.scalars(
        sa.select(AuditPending.id).order_by(AuditPending.occurred_at).limit(1)
    ).one()
    change = sa.text("UPDATE audit_pending SET object_id = 'forged' WHERE id = :id")
    with pytest.raises(sa.exc.DBAPIError, match="refused"), db.session.begin_nested():
        db.session.execute(change, {"id": victim})
    # A superuser drops the trigger first; the row's HMAC still gives it away.
    tamper.bypass_pending_triggers(db.session)
    db.session.execute(change, {"id": victim})
    result = verify_chain(db.session)
    assert not result.ok and not result.wrong_key
    assert f"queued entry {victim} does not match its HMAC" in result.problem
    before = head(db.session, practice.id)
    done = sealer.seal(db.session.connection())
    assert (done.sealed, done.refused) == (2, 1)
    assert count(db.session, AuditPending) == 0  # nothing blocks the queue
    refusal = db.session.execute(
        sa.select(AuditEntry.seq, AuditEntry.object_id, AuditEntry.actor_id).where(
            AuditEntry.chain_id == practice.id, AuditEntry.action == audit.REFUSED_ACTION
        )
    ).one()
    assert refusal == (before + 1, str(victim), None)  # in the forged entry's place
    result = verify_chain(db.session)
    assert not result.ok and result.bad_seq == before + 1
    assert "the sealer refused a queued entry" in result.problem


@postgresql_only
def test_junk_in_a_digest_column_is_refused_without_stopping_other_chains(db, deferred):
    """A non-ASCII MAC, on the deployment chain (sealed first), neither crashes verify
    nor stops the other chains' sealing."""
    practice = make_practice("Junk Practice")
    db.session.commit()
    audit.record(db.session, "test.event", object_type="thing")
    db.session.commit()
    tamper.bypass_pending_triggers(db.session)
    db.session.execute(
        sa.text("UPDATE audit_pending SET mac = :junk WHERE chain_id = :chain"),
        {"junk": "é" * 64, "chain": audit.DEPLOYMENT_CHAIN},
    )
    assert not verify_chain(db.session).ok
    done = sealer.seal(db.session.connection())
    assert done.refused >= 1 and done.failed == 0
    assert head(db.session, practice.id) == 1  # its creation, sealed after the junk
    assert count(db.session, AuditPending) == 0


@postgresql_only
def test_a_queued_entry_of_another_chain_key_is_reported_as_unverifiable(
    app, db, practice, deferred, monkeypatch
):
    """A restore onto a server with its own keys: entries queued under the old key are
    unverifiable, not edited (`verify` exits 3); the sealer records them as such."""
    audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
    db.session.commit()
    monkeypatch.setitem(app.config, "PRACTICE_AUDIT_KEY", "another-audit-key-" + "x" * 32)
    result = verify_chain(db.session)
    assert not result.ok and result.wrong_key
    assert any("queued under another chain key" in p.problem for p in result.problems)
    sealer.seal(db.session.connection())
    assert count(db.session, AuditPending) == 0
    result = verify_chain(db.session)
    assert not result.ok and result.wrong_key


@postgresql_only
def test_an_edit_passed_off_as_another_key_is_still_an_edit(db, practice, deferred):
    """Only a fingerprint this log was really written with (a checkpoint's, a key
    change's) makes a mismatch 'another key': any other is an edit (exit 1, not 3)."""
    audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
    db.session.commit()
    tamper.bypass_pending_triggers(db.session)
    db.session.execute(
        sa.text("UPDATE audit_pending SET key_fingerprint = :other, object_id = 'forged'"),
        {"other": "f" * 32},
    )
    result = verify_chain(db.session)
    assert not result.ok and not result.wrong_key
    assert "edited while it waited" in result.problem
    sealer.seal(db.session.connection())
    refusal = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEntry.action == audit.REFUSED_ACTION)
    )
    assert refusal == 1


@postgresql_only
def test_an_impossible_time_in_the_queue_neither_crashes_verify_nor_blocks_sealing(
    db, practice, deferred
):
    """'infinity' fits the column but no datetime: read as no time, refused, recorded."""
    for _ in range(2):
        audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
        db.session.commit()
    tamper.bypass_pending_triggers(db.session)
    victim = db.session.scalars(sa.select(AuditPending.id).limit(1)).first()
    db.session.execute(
        sa.text("UPDATE audit_pending SET occurred_at = 'infinity' WHERE id = :id"),
        {"id": victim},
    )
    result = verify_chain(db.session)
    assert not result.ok and "impossible time" in result.problem
    assert chain_state(db.session, practice.id).ok is False  # the owner's page: no 500
    done = sealer.seal(db.session.connection())
    assert (done.sealed, done.refused, done.failed) == (1, 1, 0)
    assert count(db.session, AuditPending) == 0


@postgresql_only
def test_rows_naming_no_practice_make_no_chain(db, deferred):
    """Junk rows for a chain that is no practice: one refusal on the deployment chain,
    and no checkpoint (no chain) for something that does not exist."""
    stranger = uuid.uuid4()
    key = audit._key("pending")
    for _ in range(3):
        row = {
            "id": audit.ordered_id(),
            "chain_id": stranger,
            "occurred_at": audit.utcnow(),
            "practice_id": stranger,
            "actor_id": None,
            "action": "test.event",
            "object_type": "thing",
            "object_id": None,
            "address": None,
            "outcome": "success",
            "key_fingerprint": audit.key_fingerprint(),
        }
        row["mac"] = audit.pending_mac(SimpleNamespace(**row), key)
        db.session.execute(sa.insert(AuditPending).values(**row))
    done = sealer.seal(db.session.connection())
    assert done.refused == 3 and done.sealed == 0
    assert head(db.session, stranger) is None
    refusal = db.session.execute(
        sa.select(AuditEntry.chain_id, AuditEntry.object_id).where(
            AuditEntry.action == audit.REFUSED_ACTION
        )
    ).one()
    assert refusal == (audit.DEPLOYMENT_CHAIN, str(stranger))


@postgresql_only
def test_an_entry_deleted_from_the_queue_is_recorded_lost_on_its_chain(
    db, practice, deferred, monkeypatch
):
    """The app process that committed an entry keeps its id for a while; an id neither
    sealed nor waiting then was deleted (say by a trigger dropping reads), and the
    sealer records that on the chain, where verify reports it."""
    monkeypatch.setattr(sealer, "LOST_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(sealer, "_WATCHED", __import__("collections").deque())
    sealer._WATCHING.set()
    try:
        for _ in range(2):
            audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
            db.session.commit()
        kept, gone = db.session.scalars(
            sa.select(AuditPending.id).order_by(AuditPending.occurred_at)
        ).all()
        # This test's session sits inside the test's transaction, so the hook does not
        # watch it (nothing is durable yet); the app's own sessions are watched.
        assert not sealer._WATCHED
        sealer.watch([(practice.id, kept), (practice.id, gone)])
        db.session.execute(sa.text("DELETE FROM audit_pending WHERE id = :id"), {"id": gone})
        assert verify_chain(db.session).ok  # unseen until the sealer's check
        done = sealer.seal(db.session.connection())
        assert (done.sealed, done.lost) == (1, 1)
    finally:
        sealer._WATCHING.clear()
    lost = db.session.scalar(
        sa.select(AuditEntry.object_id).where(AuditEntry.action == audit.LOST_ACTION)
    )
    assert lost == str(gone)
    result = verify_chain(db.session)
    assert not result.ok
    assert "removed before it was sealed" in result.problem


def test_verify_fails_while_entries_wait_too_long(app, db, practice, deferred, monkeypatch):
    """Intact as far as it goes, but not complete: no sealer runs, or one is held back."""
    from practice.audit import cli

    audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
    db.session.commit()
    monkeypatch.setattr(cli, "STALE_PENDING_SECONDS", -1)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    if TestDatabase().kind == "postgresql":
        assert result.exit_code == cli.STALE_EXIT, result.output
        assert "NOT SEALED" in result.output
    else:
        assert result.exit_code == 0, result.output  # SQLite seals inline


@postgresql_only
def test_requests_keep_working_without_a_checkpoint_and_their_entries_wait(
    db, practice, deferred, monkeypatch
):
    """Inline, a lost checkpoint fails every audited write; deferred, the writes go on
    and their entries wait (the sealer skips that chain) until it is repaired."""
    other = make_practice("Other Practice")
    db.session.commit()
    sealer.seal(db.session.connection())
    tamper.delete_checkpoint(db.session, practice.id)
    for practice_id in (practice.id, other.id):
        audit.record(db.session, "test.event", object_type="thing", practice_id=practice_id)
        db.session.commit()
    done = sealer.seal(db.session.connection())
    assert (done.sealed, done.failed) == (1, 1)
    waiting = db.session.scalars(sa.select(AuditPending.chain_id)).all()
    assert waiting == [practice.id]


@postgresql_only
def test_refusals_of_a_rolled_back_request_still_wait_to_be_sealed(db, practice, deferred):
    audit.record(db.session, "test.read", object_type="thing", practice_id=practice.id)
    audit.record(
        db.session, "test.read", object_type="thing", practice_id=practice.id, outcome="denied"
    )
    db.session.rollback()
    db.session.commit()
    assert db.session.scalars(sa.select(AuditPending.outcome)).all() == ["denied"]


@postgresql_only
def test_an_api_read_under_deferred_sealing_is_audited_through_the_queue(
    db, client, practice, deferred
):
    user = make_user(practice)
    record = make_client(practice, user)
    headers = bearer(user)
    db.session.commit()
    sealer.seal(db.session.connection())
    response = client.get(f"/api/v1/clients/{record.id}", headers=headers)
    assert response.status_code == 200
    assert db.session.scalars(sa.select(AuditPending.action)).all() == ["client.read"]
    assert sealer.seal(db.session.connection()).sealed == 1
    result = verify_chain(db.session)
    assert result.ok and result.pending == 0, result.problem


def test_on_sqlite_deferred_sealing_is_inline(db, practice, deferred):
    """SQLite holds one write lock per transaction anyway: nothing is deferred there."""
    if TestDatabase().kind != "sqlite":
        pytest.skip("the SQLite rule")
    audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
    db.session.commit()
    assert count(db.session, AuditPending) == 0
    assert head(db.session, practice.id) == 2


@pytest.mark.live
@postgresql_only
def test_a_deferred_commit_never_waits_for_its_chains_lock(live_server):
    """While a transaction holds practice A's chain lock (an inline append not yet
    committed, or a sealer at work), a deferred commit for A still goes through at once
    (300 ms lock timeout); a second sealer skips A instead of waiting for it."""
    app = live_server.app
    with app.app_context():
        first = make_practice("Locked Practice")
        _db.session.commit()
        engine = _db.engine
        with Session(engine) as holder, Session(engine) as other:
            audit.record(holder, "test.event", object_type="thing", practice_id=first.id)
            audit.write_pending(holder)  # inline: A's checkpoint row locked until commit
            app.config["AUDIT_SEALING"] = "deferred"
            try:
                other.execute(sa.text("SET LOCAL lock_timeout = '300ms'"))
                started = time.monotonic()
                audit.record(other, "test.event", object_type="thing", practice_id=first.id)
                other.commit()
                assert time.monotonic() - started < 0.3
                done = sealer.seal(engine)
                assert done.busy == 1 and done.sealed == 0
            finally:
                app.config["AUDIT_SEALING"] = "inline"
            holder.commit()
        assert sealer.seal(engine).sealed == 1
        result = verify_chain(_db.session)
        assert result.ok and result.pending == 0, result.problem
        assert result.heads[first.id][0] == 3  # creation, the inline event, the queued one
        _db.session.remove()


@pytest.mark.live
@postgresql_only
def test_the_sealer_thread_seals_within_its_interval(live_server):
    """Each app process starts one sealer thread with its first request; it seals what
    any process queued, every AUDIT_SEAL_SECONDS."""
    app = live_server.app
    with app.app_context():
        practice = make_practice("Thread Practice")
        _db.session.commit()
        app.config.update(AUDIT_SEALING="deferred", AUDIT_SEAL_SECONDS=0.1)
        thread = sealer._Thread(app)
        try:
            with Session(_db.engine) as session:
                audit.record(session, "test.event", object_type="thing", practice_id=practice.id)
                session.commit()
            assert count(_db.session, AuditPending) == 1
            running = {t for t in threading.enumerate() if t.name == "audit-sealer"}
            thread.ensure()
            thread.ensure()  # one per process
            started = {t for t in threading.enumerate() if t.name == "audit-sealer"} - running
            assert len(started) == 1
            deadline = time.monotonic() + 5
            while count(_db.session, AuditPending):
                assert time.monotonic() < deadline, "the sealer thread did not seal"
                _db.session.rollback()
                time.sleep(0.05)
        finally:
            thread.stop()
            app.config.update(AUDIT_SEALING="inline")
        result = verify_chain(_db.session)
        assert result.ok and result.heads[practice.id][0] == 2, result.problem
        _db.session.remove()


def test_the_cli_seals_and_verify_reports_pending(app, db, practice, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_SEALING", "deferred")
    audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
    db.session.commit()
    runner = app.test_cli_runner()
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    waiting = TestDatabase().kind == "postgresql"
    assert ("pending: 1 entries wait to be sealed" in verify.output) == waiting
    sealed = runner.invoke(args=["audit", "seal"])
    assert sealed.exit_code == 0, sealed.output
    assert f"sealed {int(waiting)} pending audit entries" in sealed.output
    assert "pending" not in runner.invoke(args=["audit", "verify"]).output


@postgresql_only
def test_the_owners_page_sentence_counts_what_waits(db, practice, deferred):
    audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
    db.session.commit()
    state = chain_state(db.session, practice.id)
    assert state.ok
    assert state.sentence.endswith("and 1 recorded moments ago that wait to be sealed.")
    sealer.seal(db.session.connection())
    assert chain_state(db.session, practice.id).sentence == "Intact, 2 entries."


@postgresql_only
def test_a_pending_row_put_back_after_it_was_sealed_is_never_sealed_twice(db, practice, deferred):
    """Someone who copied a waiting row (its HMAC is valid) inserts it again after it was
    sealed: the sealed entry keeps its pending id (unique, hashed), so the copy is
    refused, left unsealed, and verify names it."""
    audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
    db.session.commit()
    table = AuditPending.__table__
    copy = db.session.execute(sa.select(*table.c)).one()._asdict()
    assert sealer.seal(db.session.connection()).sealed == 1
    sealed = db.session.scalars(
        sa.select(AuditEntry.pending_id).where(AuditEntry.pending_id.is_not(None))
    ).all()
    assert sealed == [copy["id"]]
    db.session.execute(table.insert().values(**copy))
    result = verify_chain(db.session)
    assert not result.ok
    assert f"queued entry {copy['id']} is a copy of an entry already sealed" in result.problem
    done = sealer.seal(db.session.connection())
    assert (done.sealed, done.refused) == (0, 1)
    sealed_twice = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEntry.pending_id == copy["id"])
    )
    assert sealed_twice == 1
    assert "the sealer refused a queued entry" in verify_chain(db.session).problem
    # The sealed entry's pending id is covered by its hash: clearing it breaks the chain.
    tamper.bypass_append_only(db.session)
    db.session.execute(
        sa.text("UPDATE audit_entries SET pending_id = NULL WHERE pending_id = :id"),
        {"id": copy["id"]},
    )
    assert not verify_chain(db.session).ok


@postgresql_only
def test_an_alarm_fails_verify_but_every_chain_walked_whole_is_still_anchored(
    app, db, practice, deferred, tmp_path
):
    """An alarm entry fails every run (it is evidence), but the chains walked whole are
    still pinned in the anchor, and the practices check still runs: a later cut-back or
    deletion elsewhere is not hidden behind it."""
    audit.record(db.session, "test.event", object_type="thing", practice_id=practice.id)
    db.session.commit()
    tamper.bypass_pending_triggers(db.session)
    db.session.execute(sa.text("UPDATE audit_pending SET object_id = 'forged'"))
    sealer.seal(db.session.connection())
    anchor = tmp_path / "anchor.json"
    run = app.test_cli_runner().invoke(args=["audit", "verify", "--anchor", str(anchor)])
    assert run.exit_code == 1, run.output
    assert "the sealer refused a queued entry" in run.output
    pinned = read_anchor(anchor)
    assert set(pinned) == {audit.DEPLOYMENT_CHAIN, practice.id}
    assert pinned[practice.id].seq == head(db.session, practice.id)
    # A practice whose chain is deleted afterwards is still found.
    other = make_practice("Other Practice")
    db.session.commit()
    sealer.seal(db.session.connection())
    tamper.delete_checkpoint(db.session, other.id)
    db.session.execute(sa.text("DELETE FROM audit_entries WHERE chain_id = :c"), {"c": other.id})
    result = verify_chain(db.session)
    assert any(p.chain == other.id or str(other.id) in p.problem for p in result.problems)
