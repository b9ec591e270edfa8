"""One chain per practice (issue 15): practices never wait on each other's chain lock,
and each chain is verified on its own, naming its first bad entry."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from practice.audit import service as audit
from practice.audit.models import AuditCheckpoint, AuditEntry
from practice.audit.verify import verify_chain
from practice.extensions import db as _db
from tests.audit import tamper
from tests.databases import TestDatabase
from tests.factories import make_practice

COUNT = 5


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["audit", *args])
    return result.exit_code, result.output


@pytest.fixture
def two(db):
    """Two practices, each with its creation and COUNT more events on its own chain."""
    first, second = make_practice("First Practice"), make_practice("Second Practice")
    db.session.commit()
    for practice in (first, second):
        tamper.write_events(db.session, COUNT, practice.id)
    return first, second


def chain_seqs(session, chain) -> list[int]:
    return session.scalars(
        sa.select(AuditEntry.seq).where(AuditEntry.chain_id == chain).order_by(AuditEntry.seq)
    ).all()


def test_each_practice_has_its_own_chain_and_the_deployment_chain_records_its_opening(db, two):
    first, second = two
    for practice in two:
        assert chain_seqs(db.session, practice.id) == list(range(1, COUNT + 2))
        checkpoint = db.session.get(AuditCheckpoint, practice.id)
        assert checkpoint.head_seq == COUNT + 1
        actions = db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.chain_id == practice.id)
        ).all()
        assert actions[0] == "practice.create"
        assert {e for e in actions[1:]} == {"test.event"}
    opened = db.session.execute(
        sa.select(AuditEntry.seq, AuditEntry.object_id, AuditEntry.practice_id)
        .where(AuditEntry.chain_id == audit.DEPLOYMENT_CHAIN)
        .order_by(AuditEntry.seq)
    ).all()
    assert [(r.seq, r.object_id, r.practice_id) for r in opened] == [
        (1, str(first.id), None),
        (2, str(second.id), None),
    ]
    result = verify_chain(db.session)
    assert result.ok and result.checked == 2 * (COUNT + 1) + 2
    assert set(result.heads) == {audit.DEPLOYMENT_CHAIN, first.id, second.id}


def test_verify_names_the_first_bad_entry_of_each_chain(app, db, two):
    first, second = two
    tamper.bypass_append_only(db.session)
    tamper.edit(db.session, 3, second.id)
    tamper.edit(db.session, 5, second.id)
    result = verify_chain(db.session)
    assert not result.ok and result.chain == second.id and result.bad_seq == 3
    assert result.problem == f"practice {second.id}: entry 3 was edited (its hash does not match)"
    assert [(p.chain, p.bad_seq) for p in result.problems] == [(second.id, 3)]

    assert verify_chain(db.session, practice=first.id).ok
    assert verify_chain(db.session, practice=second.id).bad_seq == 3
    code, output = run(app, "verify", "--practice", str(first.id))
    assert code == 0 and f"intact: {COUNT + 1} entries in 1 chain" in output
    code, output = run(app, "verify", "--practice", str(second.id))
    assert code == 1 and f"practice {second.id}: entry 3 was edited" in output
    code, output = run(app, "verify")
    assert code == 1 and f"practice {second.id}: entry 3 was edited" in output
    assert str(first.id) not in output

    tamper.edit(db.session, 2, first.id)  # now both: each named with its own first entry
    result = verify_chain(db.session)
    assert {(p.chain, p.bad_seq) for p in result.problems} == {(first.id, 2), (second.id, 3)}
    code, output = run(app, "verify")
    assert f"practice {first.id}: entry 2 was edited" in output
    assert f"practice {second.id}: entry 3 was edited" in output


def test_an_entry_moved_to_another_practices_chain_is_named(db, two):
    first, second = two
    tamper.bypass_append_only(db.session)
    tamper.insert_after_in(db.session, second.id, COUNT + 1, copy_of=(first.id, 2))
    result = verify_chain(db.session, practice=second.id)
    assert not result.ok and result.bad_seq == COUNT + 2


@pytest.mark.parametrize("cut", [1, 2, COUNT + 1])
def test_truncating_one_practices_chain_is_detected(app, db, two, cut):
    """The last `cut` entries of one chain deleted (all of them when cut = COUNT + 1)."""
    first, second = two
    tamper.bypass_append_only(db.session)
    last = COUNT + 1
    tamper.delete(db.session, *range(last - cut + 1, last + 1), chain=second.id)
    result = verify_chain(db.session)
    assert not result.ok and result.chain == second.id
    assert result.bad_seq == last - cut + 1 and "truncated" in result.problem
    assert verify_chain(db.session, practice=first.id).ok
    code, output = run(app, "verify")
    assert code == 1 and f"practice {second.id}: entry {last - cut + 1} is missing" in output


def test_a_practice_chain_deleted_with_its_checkpoint_is_detected(app, db, two):
    _first, second = two
    tamper.delete_checkpoint(db.session, second.id)
    tamper.delete(db.session, *range(1, COUNT + 2), chain=second.id)
    result = verify_chain(db.session)
    assert not result.ok
    assert f"practice {second.id} has no chain checkpoint" in result.problem
    assert not verify_chain(db.session, practice=second.id).ok
    assert run(app, "verify")[0] == 1


def test_a_chain_cut_back_to_its_old_checkpoint_is_caught_by_the_anchor(app, db, two, tmp_path):
    _first, second = two
    anchor = tmp_path / "anchor.json"
    old = db.session.execute(
        sa.select(
            AuditCheckpoint.head_seq, AuditCheckpoint.head_hash, AuditCheckpoint.signature
        ).where(AuditCheckpoint.chain_id == second.id)
    ).one()
    tamper.write_events(db.session, 2, second.id)
    code, output = run(app, "verify", "--anchor", str(anchor))
    assert code == 0 and "heads of 2 practice chain(s)" in output, output
    heads = json.loads(anchor.read_text())["chains"]
    assert heads[str(second.id)]["seq"] == COUNT + 3
    tamper.bypass_append_only(db.session)
    tamper.delete(db.session, COUNT + 2, COUNT + 3, chain=second.id)
    db.session.execute(
        sa.update(AuditCheckpoint)
        .where(AuditCheckpoint.chain_id == second.id)
        .values(head_seq=old.head_seq, head_hash=old.head_hash, signature=old.signature)
    )
    assert verify_chain(db.session).ok  # what the checkpoint alone cannot see
    code, output = run(app, "verify", "--anchor", str(anchor))
    assert code == 1 and f"practice {second.id}" in output and "truncated" in output
    code, output = run(app, "verify", "--practice", str(second.id), "--anchor", str(anchor))
    assert code == 1 and "truncated" in output


def test_one_chains_checkpoint_cannot_stand_in_for_anothers(db, two):
    first, second = two
    row = db.session.execute(
        sa.select(AuditCheckpoint.head_hash, AuditCheckpoint.signature).where(
            AuditCheckpoint.chain_id == first.id
        )
    ).one()
    db.session.execute(
        sa.update(AuditCheckpoint)
        .where(AuditCheckpoint.chain_id == second.id)
        .values(head_hash=row.head_hash, signature=row.signature)
    )
    result = verify_chain(db.session)
    assert not result.ok and result.chain == second.id and "signature" in result.problem


def test_events_of_two_practices_in_one_commit_go_to_their_chains(db, two):
    first, second = two
    for practice in (second, first, None):
        audit.record(
            db.session,
            "test.event",
            object_type="thing",
            object_id=uuid.uuid4(),
            practice_id=practice.id if practice else None,
        )
    db.session.commit()
    assert chain_seqs(db.session, first.id)[-1] == COUNT + 2
    assert chain_seqs(db.session, second.id)[-1] == COUNT + 2
    assert chain_seqs(db.session, audit.DEPLOYMENT_CHAIN)[-1] == 3
    assert verify_chain(db.session).ok


@pytest.mark.live
@pytest.mark.skipif(TestDatabase().kind != "postgresql", reason="row locks of PostgreSQL")
def test_a_practice_holding_its_chain_lock_does_not_block_another_practice(live_server):
    """Connection 1 holds practice A's chain lock (an append waiting to commit);
    connection 2, with a 2 s lock timeout, appends for practice B and for the deployment
    at once, while an append for A itself times out: the lock is A's alone."""
    with live_server.app.app_context():
        first, second = make_practice("First Practice"), make_practice("Second Practice")
        _db.session.commit()
        engine = _db.engine
        with Session(engine) as holder, Session(engine) as other:
            audit.record(holder, "test.event", object_type="thing", practice_id=first.id)
            audit.write_pending(holder)  # A's checkpoint row now locked until commit
            held = holder.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = "
                    "pg_locks.relation WHERE pg_class.relname = 'audit_checkpoint' "
                    "AND pg_locks.pid = pg_backend_pid() AND mode = 'RowShareLock'"
                )
            )
            assert held == 1
            for practice_id in (second.id, None):
                other.execute(sa.text("SET lock_timeout = '2s'"))
                started = time.monotonic()
                audit.record(other, "test.event", object_type="thing", practice_id=practice_id)
                other.commit()
                assert time.monotonic() - started < 1.0
            other.execute(sa.text("SET lock_timeout = '300ms'"))
            audit.record(other, "test.event", object_type="thing", practice_id=first.id)
            with pytest.raises(sa.exc.OperationalError) as blocked:
                other.commit()
            assert "lock timeout" in str(blocked.value.orig)
            other.rollback()
            holder.commit()
        result = verify_chain(_db.session)
        assert result.ok, result.problem
        assert result.heads[first.id][0] == 2 and result.heads[second.id][0] == 2


@pytest.fixture
def commits(monkeypatch) -> list[bool]:
    """Whether each chain append carried the transaction's COMMIT, in order."""
    seen: list[bool] = []
    append = audit._append

    def spy(connection, rows, head, commit):
        seen.append(commit)
        return append(connection, rows, head, commit)

    monkeypatch.setattr(audit, "_append", spy)
    return seen


def test_the_test_suites_savepoint_sessions_never_send_the_commit_early(db, commits):
    """The COMMIT rides with the chain's append only when the session owns the
    transaction: here (a savepoint inside the test's transaction) it must not."""
    audit.record(db.session, "test.event", object_type="thing")
    db.session.commit()
    assert commits == [False]


@pytest.mark.live
@pytest.mark.skipif(TestDatabase().kind != "postgresql", reason="psycopg's pipeline")
def test_an_audited_commit_ends_in_the_chains_round_trip(live_server, commits):
    """On PostgreSQL the append, the checkpoint move and COMMIT go in one round trip, so
    the chain lock is held for that round trip only; the commit is complete and whole."""
    with live_server.app.app_context():
        practice = make_practice("Round Trip Practice")
        _db.session.commit()
        with Session(_db.engine) as session:
            audit.record(session, "test.event", object_type="thing", practice_id=practice.id)
            session.commit()
        assert commits == [False, True, True]  # creation (two chains: the last commits), event
        result = verify_chain(_db.session)
        assert result.ok and result.heads[practice.id][0] == 2
