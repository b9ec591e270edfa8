"""Migration 0013 keeps the single chain of before verifiable: it becomes the deployment
chain, the cut-over is recorded in it, and each practice's later entries start its own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from practice.audit import service as audit
from practice.audit.verify import verify_chain
from practice.database import UTCDateTime
from practice.extensions import db
from tests.test_migrations import scratch_app

ENTRIES = sa.table(
    "audit_entries",
    sa.column("seq", sa.Integer()),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("practice_id", sa.Uuid()),
    sa.column("actor_id", sa.Uuid()),
    *(sa.column(name, sa.String()) for name in ("action", "object_type", "object_id")),
    *(sa.column(name, sa.String()) for name in ("address", "outcome", "prev_hash", "entry_hash")),
)
CHECKPOINT = sa.table(
    "audit_checkpoint",
    sa.column("id", sa.Integer()),
    *(sa.column(name) for name in ("head_seq", "head_hash", "signature", "key_fingerprint")),
)
PRACTICES = sa.table(
    "practices",
    sa.column("id", sa.Uuid()),
    *(sa.column(name) for name in ("name", "timezone", "require_totp")),
    sa.column("created_at", UTCDateTime()),
)


def _old_chain(conn, practice_id: uuid.UUID) -> None:
    """Three entries written as revision 0012 wrote them: one chain, one checkpoint."""
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    events = [
        ("practice.create", practice_id, "practice", str(practice_id)),
        ("note.read", practice_id, "note", str(uuid.uuid4())),
        ("auth.login_failed", None, None, None),
    ]
    prev = audit.GENESIS
    for seq, (action, practice, object_type, object_id) in enumerate(events, start=1):
        row = {
            "seq": seq,
            "occurred_at": start + timedelta(minutes=seq),
            "practice_id": practice,
            "actor_id": None,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "address": "192.0.2.1",
            "outcome": "success",
            "prev_hash": prev,
        }
        prev = row["entry_hash"] = audit.entry_hash(
            prev, audit.hashed_fields(SimpleNamespace(**row))
        )
        conn.execute(ENTRIES.insert().values(**row))
    conn.execute(
        CHECKPOINT.insert().values(
            id=1,
            head_seq=3,
            head_hash=prev,
            signature=audit.checkpoint_signature(3, prev),
            key_fingerprint=audit.key_fingerprint(),
        )
    )


def test_the_old_chain_stays_verifiable_and_practices_go_on_their_own(keyring_path):
    with scratch_app(keyring_path):
        flask_migrate.upgrade(revision="0012")
        practice_id = uuid.uuid4()
        with db.engine.begin() as conn:
            conn.execute(
                PRACTICES.insert().values(
                    id=practice_id,
                    name="Harbour",
                    timezone="Europe/Berlin",
                    require_totp=False,
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
            _old_chain(conn, practice_id)
        flask_migrate.upgrade()  # through 0013 to head (verify reads later tables too)
        session = Session(db.engine)  # the scratch database (db.session is the test's)

        result = verify_chain(session)
        assert result.ok, result.problem
        assert result.heads[audit.DEPLOYMENT_CHAIN][0] == 4  # the three, and the cut-over
        assert result.heads[practice_id] == (0, audit.GENESIS)  # signed, still empty
        assert any("ended at entry 3 (migration 0013)" in note for note in result.notes)

        audit.record(session, "note.read", object_type="note", practice_id=practice_id)
        audit.record(session, "auth.login_failed")
        session.commit()
        result = verify_chain(session)
        assert result.ok, result.problem
        assert result.heads[practice_id][0] == 1 and result.heads[audit.DEPLOYMENT_CHAIN][0] == 5

        # Entries on a practice's chain cannot go back into the single chain unrehashed.
        session.close()
        with pytest.raises(SystemExit):  # flask-migrate's exit for the RuntimeError
            flask_migrate.downgrade(revision="0012")
        # On SQLite (no transactional DDL) the revisions after 0013 went down before 0013
        # refused; back up to head, the chain is untouched either way.
        flask_migrate.upgrade()
        with Session(db.engine) as session:
            assert verify_chain(session).heads[practice_id][0] == 1  # left as it was


def test_an_empty_log_migrates_down_and_up(keyring_path):
    with scratch_app(keyring_path):
        flask_migrate.upgrade(revision="0013")
        flask_migrate.downgrade(revision="0012")
        flask_migrate.upgrade()
        with Session(db.engine) as session:
            audit.record(session, "auth.login_failed")
            session.commit()
            assert verify_chain(session).heads == {
                audit.DEPLOYMENT_CHAIN: (
                    1,
                    session.scalar(sa.text("SELECT entry_hash FROM audit_entries")),
                )
            }
