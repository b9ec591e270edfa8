"""outcome measures entered in error: a form can be voided, never deleted

A form recorded in error (wrong client, wrong session, wrong answers, a duplicate) is
marked void by a clinician in the client's care, with a reason category: `voided_at`,
`voided_by`, `void_reason` are plain bookkeeping (no clinical text); the sealed answers
stay as they were. One form per instrument per appointment now counts only forms that
are not void (a partial unique index), so the corrected form can be recorded.

Revision ID: 0016
Revises: 0015
"""

import warnings
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

LIVE = "voided_at IS NULL"


@contextmanager
def _batch():
    """The table rebuilt on SQLite (its unique constraint is part of the table). Reflecting
    it reflects the tables it refers to, and rooms has an expression index SQLAlchemy
    cannot reflect (0004); that index is not on this table and is left alone."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("measure_scores") as batch_op:
            yield batch_op


def upgrade():
    with _batch() as batch_op:
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("voided_by", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_measure_scores_voided_by_users"), "users", ["voided_by"], ["id"]
        )
        batch_op.drop_constraint("uq_measure_scores_session", type_="unique")
        batch_op.create_index(
            "uq_measure_scores_session",
            ["appointment_id", "instrument"],
            unique=True,
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )


def downgrade():
    with _batch() as batch_op:
        batch_op.drop_index(
            "uq_measure_scores_session",
            sqlite_where=sa.text(LIVE),
            postgresql_where=sa.text(LIVE),
        )
        batch_op.drop_constraint(op.f("fk_measure_scores_voided_by_users"), type_="foreignkey")
        batch_op.drop_column("void_reason")
        batch_op.drop_column("voided_by")
        batch_op.drop_column("voided_at")
        batch_op.create_unique_constraint(
            "uq_measure_scores_session", ["appointment_id", "instrument"]
        )
