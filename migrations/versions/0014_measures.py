"""outcome measures: one row per completed form, responses and score sealed

`measure_scores` holds each instrument form recorded for an appointment of a client
(PHQ-9, GAD-7, or an instrument a practice defines in a file). The answers, total and
risk items are sealed under the client's data key in `responses` (table
"measure_scores", column "responses", the row's id), like every clinical value; only
ids, the instrument's id and definition version and the session's local date are plain.
One form per instrument per appointment.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _fk(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_measure_scores_{column}_{target}")
    )


def upgrade():
    op.create_table(
        "measure_scores",
        sa.Column("practice_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("instrument_version", sa.Integer(), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("responses", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        _fk("practice_id", "practices"),
        _fk("client_id", "clients"),
        _fk("appointment_id", "appointments"),
        _fk("recorded_by", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_scores")),
        sa.UniqueConstraint("appointment_id", "instrument", name="uq_measure_scores_session"),
    )
    op.create_index(
        "ix_measure_scores_client_date", "measure_scores", ["client_id", "session_date"]
    )


def downgrade():
    op.drop_index("ix_measure_scores_client_date", table_name="measure_scores")
    op.drop_table("measure_scores")
