"""outcome measures are final in the database too: a form is never updated or deleted,
except that a form not yet void can be voided (voided_at, voided_by and void_reason set
together, nothing else changed); TRUNCATE is refused on PostgreSQL

A database administrator could otherwise delete the form whose item 9 raised the risk
flag, relabel a form as another instrument (the instrument is plain, not sealed), move it
to another session or date, or take back a void, and every reader would trust the result.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

KEPT = (
    "id",
    "practice_id",
    "client_id",
    "appointment_id",
    "instrument",
    "instrument_version",
    "session_date",
    "recorded_by",
    "responses",
    "created_at",
)


def _void_only(same: str) -> str:
    """The one update allowed: a form not yet void is voided, nothing else changes.
    `same` is the dialect's null-safe equality operator."""
    kept = " AND ".join(f"NEW.{c} {same} OLD.{c}" for c in KEPT)
    return (
        "OLD.voided_at IS NULL AND NEW.voided_at IS NOT NULL AND NEW.voided_by IS NOT NULL"
        f" AND NEW.void_reason IS NOT NULL AND {kept}"
    )


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION measure_form_final() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% of a recorded form of % refused', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END;
            $$
        """)
        op.execute(f"""
            CREATE TRIGGER measure_scores_no_update BEFORE UPDATE ON measure_scores
            FOR EACH ROW WHEN (NOT ({_void_only("IS NOT DISTINCT FROM")}))
            EXECUTE FUNCTION measure_form_final()
        """)
        op.execute("""
            CREATE TRIGGER measure_scores_no_delete BEFORE DELETE ON measure_scores
            FOR EACH ROW EXECUTE FUNCTION measure_form_final()
        """)
        op.execute("""
            CREATE TRIGGER measure_scores_no_truncate BEFORE TRUNCATE ON measure_scores
            FOR EACH STATEMENT EXECUTE FUNCTION measure_form_final()
        """)
    elif dialect == "sqlite":
        op.execute(f"""
            CREATE TRIGGER measure_scores_no_update BEFORE UPDATE ON measure_scores
            WHEN NOT ({_void_only("IS")})
            BEGIN SELECT RAISE(ABORT, 'UPDATE of a recorded form of measure_scores refused');
            END
        """)
        op.execute("""
            CREATE TRIGGER measure_scores_no_delete BEFORE DELETE ON measure_scores
            BEGIN SELECT RAISE(ABORT, 'DELETE of a recorded form of measure_scores refused');
            END
        """)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name in ("no_update", "no_delete", "no_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS measure_scores_{name} ON measure_scores")
        op.execute("DROP FUNCTION IF EXISTS measure_form_final()")
    elif dialect == "sqlite":
        for name in ("no_update", "no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS measure_scores_{name}")
