"""signed process notes and their addenda are immutable in the database too

The application never updates or deletes a signed note or an addendum (a signed note is
corrected by appending an addendum); these triggers make the database refuse it as
well, as it already does for the audit log, so no code path or stray SQL can change a
signed record. A draft stays writable (PUT, sign).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SIGNED_ONLY = {"process_notes": "OLD.status = 'signed'", "note_addenda": None}


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        # OR REPLACE: `flask restore --force` of an older backup drops the tables (and
        # their triggers) but leaves this function, and the upgrade then meets it.
        op.execute("""
            CREATE OR REPLACE FUNCTION clinical_record_immutable() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% of a signed record of % refused', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END;
            $$
        """)
        for table, condition in SIGNED_ONLY.items():
            when = f"WHEN ({condition})" if condition else ""
            op.execute(f"""
                CREATE TRIGGER {table}_immutable
                BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW {when} EXECUTE FUNCTION clinical_record_immutable()
            """)
    elif dialect == "sqlite":
        for table, condition in SIGNED_ONLY.items():
            when = f"WHEN {condition}" if condition else ""
            for operation in ("UPDATE", "DELETE"):
                op.execute(f"""
                    CREATE TRIGGER {table}_no_{operation.lower()}
                    BEFORE {operation} ON {table} {when}
                    BEGIN SELECT RAISE(ABORT, '{operation} of a signed record of {table} refused');
                    END
                """)


def downgrade():
    dialect = op.get_bind().dialect.name
    for table in SIGNED_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS clinical_record_immutable()")
