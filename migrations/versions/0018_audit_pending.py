"""audit entries can wait to be sealed: `audit_pending` holds entries written by audited
requests without the chain's lock, until the sealer moves them onto their chains

On PostgreSQL a pending entry is never updated (the sealer inserts its chain entry and
deletes it in one transaction) and the table is never truncated; each row also carries
an HMAC, so an edit is caught even where these triggers were dropped. A sealed entry
keeps its pending id (`audit_entries.pending_id`, unique, covered by its hash), so a
copy of a pending row put back after it was sealed is never sealed twice.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chain_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("practice_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=32), nullable=False),
        sa.Column(
            "queued_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending")),
    )
    op.create_index(op.f("ix_audit_pending_chain_id"), "audit_pending", ["chain_id"])
    op.add_column("audit_entries", sa.Column("pending_id", sa.Uuid(), nullable=True))
    op.create_index(
        op.f("ix_audit_entries_pending_id"), "audit_entries", ["pending_id"], unique=True
    )
    if op.get_bind().dialect.name == "postgresql":
        # practice_refuse_change() is migration 0011's.
        for operation in ("UPDATE", "TRUNCATE"):
            level = "ROW" if operation == "UPDATE" else "STATEMENT"
            op.execute(f"""
                CREATE TRIGGER audit_pending_no_{operation.lower()} BEFORE {operation}
                ON audit_pending FOR EACH {level} EXECUTE FUNCTION practice_refuse_change()
            """)


def downgrade():
    # Entries sealed from the queue hash their pending id, and queued ones are not yet on
    # any chain: dropping either would break or lose audit entries.
    bind = op.get_bind()
    waiting = bind.execute(sa.text("SELECT count(*) FROM audit_pending")).scalar()
    sealed = bind.execute(
        sa.text("SELECT count(*) FROM audit_entries WHERE pending_id IS NOT NULL")
    ).scalar()
    if waiting or sealed:
        raise RuntimeError(
            f"{waiting} audit entries wait to be sealed and {sealed} were sealed from the "
            "queue (their hashes cover their queue ids): revision 0017 cannot hold them; "
            "restore a backup made before the upgrade"
        )
    op.drop_index(op.f("ix_audit_entries_pending_id"), table_name="audit_entries")
    with op.batch_alter_table("audit_entries") as batch_op:
        batch_op.drop_column("pending_id")
    op.drop_index(op.f("ix_audit_pending_chain_id"), table_name="audit_pending")
    op.drop_table("audit_pending")
