# ruff: noqa: S608 (the SQL is built from fixed column names and the nil UUID)
"""audit log: one hash chain per practice, so practices never wait on each other's lock

Until now every audited request took `FOR UPDATE` on the single `audit_checkpoint` row:
one lock for the whole deployment. From this revision each practice has its own chain
(`audit_entries.chain_id` = the practice's id, `seq` counting within it) and its own
signed head (one `audit_checkpoint` row per chain, keyed by `chain_id`). Entries about
no practice (a failed sign-in for an unknown email, operator commands) go on the
deployment chain, `chain_id` = the nil UUID.

Existing entries are not rewritten (their hashes would have to be): they stay on the
deployment chain, which continues the old global chain unchanged, and the checkpoint row
that signed it becomes the deployment chain's. The cut-over is recorded in that chain:
an `audit.chain_split` entry (object id: the last entry of the single chain), so
`flask audit verify` tells where the shared chain ended. Every existing practice gets
its own empty, signed checkpoint (seq 0), so a practice chain deleted with its
checkpoint is reported like a deleted checkpoint.

Signing needs the chain key: `flask db upgrade` runs inside the app, which has
PRACTICE_AUDIT_KEY or SECRET_KEY. When the log was written with another chain key (its
checkpoint does not verify with this one) no marker is written; the application marks
the key change on its next append, as it always has.

The downgrade merges nothing: entries on practice chains cannot join the single chain
without being rehashed, so it stops (restore a backup made before the upgrade instead)
when there are any; otherwise it removes the empty practice checkpoints and puts the
single chain's checkpoint back.

Revision ID: 0013
Revises: 0012
"""

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from practice.database import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

DEPLOYMENT = uuid.UUID(int=0)
SPLIT_ACTION = "audit.chain_split"
GENESIS = "0" * 64
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

ENTRY_COLUMNS = (
    "seq, occurred_at, practice_id, actor_id, action, object_type, object_id, address, "
    "outcome, prev_hash, entry_hash"
)


def _secret() -> bytes:
    from flask import current_app, has_app_context

    if not has_app_context():
        raise RuntimeError("migration 0013 signs the audit chains: run it with `flask db upgrade`")
    config = current_app.config
    return (config.get("PRACTICE_AUDIT_KEY") or config["SECRET_KEY"]).encode()


def _key(label: str) -> bytes:
    return hmac.new(_secret(), f"practice audit {label}".encode(), hashlib.sha256).digest()


def _fingerprint() -> str:
    return hmac.new(_key("fingerprint"), b"audit-key-fingerprint", hashlib.sha256).hexdigest()[:32]


def _signature(chain: uuid.UUID, seq: int, head_hash: str) -> str:
    # The deployment chain keeps the message the single chain was signed with.
    prefix = "audit-head" if chain == DEPLOYMENT else f"audit-head:{chain}"
    message = f"{prefix}:{seq}:{head_hash}".encode()
    return hmac.new(_key("checkpoint"), message, hashlib.sha256).hexdigest()


def _key_value(value: uuid.UUID):
    return value.hex if op.get_bind().dialect.name == "sqlite" else value


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()
    checkpoints = sa.table(
        "audit_checkpoint",
        sa.column("chain_id", sa.Uuid()),
        sa.column("head_seq", SEQ),
        sa.column("head_hash", sa.String()),
        sa.column("signature", sa.String()),
        sa.column("key_fingerprint", sa.String()),
    )
    _mark_split(conn, checkpoints)
    practices = conn.execute(sa.text("SELECT id FROM practices")).scalars().all()
    for value in practices:
        chain = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        conn.execute(
            checkpoints.insert().values(
                chain_id=chain,
                head_seq=0,
                head_hash=GENESIS,
                signature=_signature(chain, 0, GENESIS),
                key_fingerprint=_fingerprint(),
            )
        )


def _mark_split(conn, checkpoints) -> None:
    """Append the cut-over entry to the old single chain, if it has entries and was
    written with the configured key."""
    head = conn.execute(
        sa.select(checkpoints.c.head_seq, checkpoints.c.head_hash, checkpoints.c.signature).where(
            checkpoints.c.chain_id == DEPLOYMENT
        )
    ).first()
    if head is None or head.head_seq == 0:
        return
    if not hmac.compare_digest(
        head.signature, _signature(DEPLOYMENT, head.head_seq, head.head_hash)
    ):
        return
    seq, occurred = head.head_seq + 1, datetime.now(UTC)
    fields = [
        seq,
        occurred.isoformat(),
        None,
        None,
        SPLIT_ACTION,
        "audit_log",
        str(head.head_seq),
        None,
        "success",
    ]
    body = json.dumps(fields, separators=(",", ":"))
    entry = hmac.digest(_key("chain"), (head.head_hash + body).encode(), "sha256").hex()
    entries = sa.table(
        "audit_entries",
        *(sa.column(name) for name in ("seq", "action", "object_type", "object_id", "address")),
        *(sa.column(name) for name in ("outcome", "prev_hash", "entry_hash")),
        sa.column("chain_id", sa.Uuid()),
        sa.column("practice_id", sa.Uuid()),
        sa.column("actor_id", sa.Uuid()),
        sa.column("occurred_at", UTCDateTime()),
    )
    conn.execute(
        entries.insert().values(
            chain_id=DEPLOYMENT,
            seq=seq,
            occurred_at=occurred,
            practice_id=None,
            actor_id=None,
            action=SPLIT_ACTION,
            object_type="audit_log",
            object_id=str(head.head_seq),
            address=None,
            outcome="success",
            prev_hash=head.head_hash,
            entry_hash=entry,
        )
    )
    conn.execute(
        checkpoints.update()
        .where(checkpoints.c.chain_id == DEPLOYMENT)
        .values(
            head_seq=seq,
            head_hash=entry,
            signature=_signature(DEPLOYMENT, seq, entry),
            key_fingerprint=_fingerprint(),
        )
    )


def _upgrade_postgresql() -> None:
    nil = f"'{DEPLOYMENT}'::uuid"
    op.execute(f"ALTER TABLE audit_entries ADD COLUMN chain_id uuid NOT NULL DEFAULT {nil}")
    op.execute("ALTER TABLE audit_entries ALTER COLUMN chain_id DROP DEFAULT")
    op.execute("ALTER TABLE audit_entries DROP CONSTRAINT pk_audit_entries")
    op.execute(
        "ALTER TABLE audit_entries ADD CONSTRAINT pk_audit_entries PRIMARY KEY (chain_id, seq)"
    )
    op.execute(f"ALTER TABLE audit_checkpoint ADD COLUMN chain_id uuid NOT NULL DEFAULT {nil}")
    op.execute("ALTER TABLE audit_checkpoint ALTER COLUMN chain_id DROP DEFAULT")
    op.execute("ALTER TABLE audit_checkpoint DROP CONSTRAINT pk_audit_checkpoint")
    op.execute("ALTER TABLE audit_checkpoint DROP COLUMN id")
    op.execute(
        "ALTER TABLE audit_checkpoint ADD CONSTRAINT pk_audit_checkpoint PRIMARY KEY (chain_id)"
    )


# SQLite cannot change a primary key in place: the tables are rebuilt, and their
# triggers (which a DROP TABLE removes) created again.
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only (UPDATE refused)'); END",
    "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only (DELETE refused)'); END",
    "CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint cannot be deleted (DELETE refused)'); END",
)

_SQLITE_ENTRIES = """
CREATE TABLE audit_entries_new ({chain}
    seq INTEGER NOT NULL,
    occurred_at DATETIME NOT NULL,
    practice_id CHAR(32),
    actor_id CHAR(32),
    action VARCHAR(64) NOT NULL,
    object_type VARCHAR(32),
    object_id VARCHAR(64),
    address VARCHAR(64),
    outcome VARCHAR(16) NOT NULL,
    prev_hash VARCHAR(64) NOT NULL,
    entry_hash VARCHAR(64) NOT NULL,
    CONSTRAINT pk_audit_entries PRIMARY KEY ({key})
)
"""

_SQLITE_CHECKPOINT = """
CREATE TABLE audit_checkpoint_new (
    {key_column},
    head_seq INTEGER NOT NULL,
    head_hash VARCHAR(64) NOT NULL,
    signature VARCHAR(64) NOT NULL,
    key_fingerprint VARCHAR(32),
    CONSTRAINT pk_audit_checkpoint PRIMARY KEY ({key})
)
"""

_INDEXES = ("action", "actor_id", "object_id", "practice_id")


def _sqlite_rebuild(
    entries_key: str, checkpoint_key_column: str, checkpoint_key: str, copy
) -> None:
    for name in (
        "audit_entries_no_update",
        "audit_entries_no_delete",
        "audit_checkpoint_no_delete",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    chain = "\n    chain_id CHAR(32) NOT NULL," if "chain_id" in entries_key else ""
    op.execute(_SQLITE_ENTRIES.format(chain=chain, key=entries_key))
    op.execute(_SQLITE_CHECKPOINT.format(key_column=checkpoint_key_column, key=checkpoint_key))
    copy()
    for name in _INDEXES:
        op.execute(f"DROP INDEX IF EXISTS ix_audit_entries_{name}")
    op.execute("DROP TABLE audit_entries")
    op.execute("DROP TABLE audit_checkpoint")
    op.execute("ALTER TABLE audit_entries_new RENAME TO audit_entries")
    op.execute("ALTER TABLE audit_checkpoint_new RENAME TO audit_checkpoint")
    for name in _INDEXES:
        op.execute(f"CREATE INDEX ix_audit_entries_{name} ON audit_entries ({name})")
    for statement in _SQLITE_TRIGGERS:
        op.execute(statement)


def _upgrade_sqlite() -> None:
    nil = DEPLOYMENT.hex

    def copy() -> None:
        op.execute(
            f"INSERT INTO audit_entries_new (chain_id, {ENTRY_COLUMNS}) "
            f"SELECT '{nil}', {ENTRY_COLUMNS} FROM audit_entries"
        )
        op.execute(
            "INSERT INTO audit_checkpoint_new (chain_id, head_seq, head_hash, signature, "
            f"key_fingerprint) SELECT '{nil}', head_seq, head_hash, signature, key_fingerprint "
            "FROM audit_checkpoint WHERE id = 1"
        )

    _sqlite_rebuild("chain_id, seq", "chain_id CHAR(32) NOT NULL", "chain_id", copy)


def downgrade() -> None:
    conn = op.get_bind()
    nil = _key_value(DEPLOYMENT)
    others = conn.execute(
        sa.text("SELECT count(*) FROM audit_entries WHERE chain_id != :nil"), {"nil": nil}
    ).scalar()
    if others:
        raise RuntimeError(
            f"{others} audit entries are on practice chains and cannot join the single chain "
            "of revision 0012 without being rehashed: restore a backup made before the upgrade"
        )
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_no_delete")
        conn.execute(sa.text("DELETE FROM audit_checkpoint WHERE chain_id != :nil"), {"nil": nil})
        op.execute("ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_no_delete")
        op.execute("ALTER TABLE audit_checkpoint DROP CONSTRAINT pk_audit_checkpoint")
        op.execute("ALTER TABLE audit_checkpoint DROP COLUMN chain_id")
        op.execute("ALTER TABLE audit_checkpoint ADD COLUMN id integer NOT NULL DEFAULT 1")
        op.execute("ALTER TABLE audit_checkpoint ALTER COLUMN id DROP DEFAULT")
        op.execute(
            "ALTER TABLE audit_checkpoint ADD CONSTRAINT pk_audit_checkpoint PRIMARY KEY (id)"
        )
        op.execute("ALTER TABLE audit_entries DROP CONSTRAINT pk_audit_entries")
        op.execute("ALTER TABLE audit_entries DROP COLUMN chain_id")
        op.execute("ALTER TABLE audit_entries ADD CONSTRAINT pk_audit_entries PRIMARY KEY (seq)")
        return

    def copy() -> None:
        op.execute(
            f"INSERT INTO audit_entries_new ({ENTRY_COLUMNS}) "
            f"SELECT {ENTRY_COLUMNS} FROM audit_entries"
        )
        op.execute(
            "INSERT INTO audit_checkpoint_new (id, head_seq, head_hash, signature, "
            "key_fingerprint) SELECT 1, head_seq, head_hash, signature, key_fingerprint "
            f"FROM audit_checkpoint WHERE chain_id = '{DEPLOYMENT.hex}'"
        )

    _sqlite_rebuild("seq", "id INTEGER NOT NULL", "id", copy)
