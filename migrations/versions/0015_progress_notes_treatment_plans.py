"""the clinical record: progress notes, their addenda, treatment plans, record codes

Progress notes (one per appointment) and treatment plans (versions numbered per client)
keep every clinical value sealed under the client's data key in `content`; addenda
likewise in `text`. `record_codes` holds a practice's service-code and diagnosis-code
lists; a client has at most one draft plan (a partial unique index). As for process
notes (0008), a signed progress note, a signed plan and every addendum cannot be updated
or deleted in the database: triggers refuse it.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

SIGNED_ONLY = {
    "progress_notes": "OLD.status = 'signed'",
    "progress_note_addenda": None,
    "treatment_plans": "OLD.status = 'signed'",
}


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(column: str, table: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade():
    op.create_table(
        "treatment_plans",
        sa.Column("practice_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        _stamp("signed_at", nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        _fk("practice_id", "treatment_plans", "practices"),
        _fk("client_id", "treatment_plans", "clients"),
        _fk("author_id", "treatment_plans", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_plans")),
        sa.UniqueConstraint("client_id", "number", name="uq_treatment_plans_number"),
    )
    op.create_index("ix_treatment_plans_client_id", "treatment_plans", ["client_id"])
    op.create_index(
        "uq_treatment_plans_one_draft",
        "treatment_plans",
        ["client_id"],
        unique=True,
        sqlite_where=sa.text("status = 'draft'"),
        postgresql_where=sa.text("status = 'draft'"),
    )
    op.create_table(
        "progress_notes",
        sa.Column("practice_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        _stamp("signed_at", nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        _fk("practice_id", "progress_notes", "practices"),
        _fk("client_id", "progress_notes", "clients"),
        _fk("author_id", "progress_notes", "users"),
        _fk("appointment_id", "progress_notes", "appointments"),
        _fk("plan_id", "progress_notes", "treatment_plans"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_notes")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_progress_notes_appointment_id")),
    )
    op.create_index(
        "ix_progress_notes_client_date", "progress_notes", ["client_id", "session_date"]
    )
    op.create_table(
        "progress_note_addenda",
        sa.Column("practice_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.LargeBinary(), nullable=False),
        _stamp("created_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        _fk("practice_id", "progress_note_addenda", "practices"),
        _fk("client_id", "progress_note_addenda", "clients"),
        _fk("note_id", "progress_note_addenda", "progress_notes"),
        _fk("author_id", "progress_note_addenda", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_note_addenda")),
    )
    op.create_index("ix_progress_note_addenda_note_id", "progress_note_addenda", ["note_id"])
    op.create_table(
        "record_codes",
        sa.Column("practice_id", sa.Uuid(), nullable=False),
        sa.Column("service_codes", sa.JSON(), nullable=False),
        sa.Column("diagnosis_codes", sa.JSON(), nullable=False),
        _stamp("updated_at"),
        _fk("practice_id", "record_codes", "practices"),
        sa.PrimaryKeyConstraint("practice_id", name=op.f("pk_record_codes")),
    )
    _immutable()


def _immutable():
    """Signed rows and addenda refuse UPDATE and DELETE (the 0008 function on PostgreSQL)."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
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
            op.execute(f"""
                CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION clinical_record_immutable()
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
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    op.drop_table("record_codes")
    op.drop_index("ix_progress_note_addenda_note_id", table_name="progress_note_addenda")
    op.drop_table("progress_note_addenda")
    op.drop_index("ix_progress_notes_client_date", table_name="progress_notes")
    op.drop_table("progress_notes")
    op.drop_index("uq_treatment_plans_one_draft", table_name="treatment_plans")
    op.drop_index("ix_treatment_plans_client_id", table_name="treatment_plans")
    op.drop_table("treatment_plans")
