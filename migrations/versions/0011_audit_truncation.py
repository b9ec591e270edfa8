"""audit log: TRUNCATE refused, the checkpoint undeletable and naming its chain key

PostgreSQL's row triggers do not fire on TRUNCATE, so `TRUNCATE audit_entries` (and
`TRUNCATE note_addenda, process_notes CASCADE`, which also empties signed notes) went
through the append-only and immutability triggers. Statement-level BEFORE TRUNCATE
triggers now refuse it on the audit log, its checkpoint, process notes and addenda
(also when a TRUNCATE of another table cascades to them). The checkpoint row refuses
DELETE on both databases: the application only inserts and moves it.

`audit_checkpoint.key_fingerprint` names the chain key that signed the head (an HMAC of
a fixed label, never the key), so `flask audit verify` can tell "written with another
chain key" from "an entry was edited".

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NO_TRUNCATE = ("audit_entries", "audit_checkpoint", "process_notes", "note_addenda")


def upgrade() -> None:
    with op.batch_alter_table("audit_checkpoint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_fingerprint", sa.String(length=32), nullable=True))
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # OR REPLACE: `flask restore --force` of an older backup drops the tables but
        # leaves the functions.
        op.execute("""
            CREATE OR REPLACE FUNCTION practice_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% of % refused (append-only or immutable)', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END;
            $$
        """)
        for table in NO_TRUNCATE:
            op.execute(f"""
                CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION practice_refuse_change()
            """)
        op.execute("""
            CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
            FOR EACH ROW EXECUTE FUNCTION practice_refuse_change()
        """)
    elif dialect == "sqlite":
        op.execute("""
            CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
            BEGIN SELECT RAISE(ABORT, 'audit_checkpoint cannot be deleted (DELETE refused)'); END
        """)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in NO_TRUNCATE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_delete ON audit_checkpoint")
        op.execute("DROP FUNCTION IF EXISTS practice_refuse_change()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_delete")
    with op.batch_alter_table("audit_checkpoint", schema=None) as batch_op:
        batch_op.drop_column("key_fingerprint")
