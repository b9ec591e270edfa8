"""supervision is accepted by the supervised clinician; temporary passwords

A supervision link now takes effect only when the supervised clinician accepts it
(`accepted_at`), and records who asked for it and who ended it, and why (declined,
withdrawn, ended, role_removed). Passwords an owner sets are temporary through the
existing `users.password_reset_required` (0006): no column here.

Links open at the upgrade become **pending**: they were made by an owner alone, which is
exactly the path this revision closes, and nothing in the database shows that the
clinician ever agreed. Keeping them in effect would keep any link made that way. Each
clinician sees their pending requests at GET /api/v1/auth/supervision and accepts with
one request; their supervisors read nothing until then. Links that had already ended
count as accepted when made (they were in effect under the old rules), so their history
reads "ended", not "withdrawn".

Downgrade ends the links still pending (the old schema has no pending state: they would
otherwise take effect without anyone's consent), then drops the columns.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("supervisions") as batch:
        batch.add_column(sa.Column("requested_by_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("ended_by_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.String(length=16), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_supervisions_requested_by_id_users"), "users", ["requested_by_id"], ["id"]
        )
        batch.create_foreign_key(
            batch.f("fk_supervisions_ended_by_id_users"), "users", ["ended_by_id"], ["id"]
        )
    op.execute("UPDATE supervisions SET accepted_at = created_at WHERE ended_at IS NOT NULL")


def downgrade() -> None:
    op.execute(
        "UPDATE supervisions SET ended_at = CURRENT_TIMESTAMP "
        "WHERE ended_at IS NULL AND accepted_at IS NULL"
    )
    with op.batch_alter_table("supervisions") as batch:
        batch.drop_constraint(batch.f("fk_supervisions_ended_by_id_users"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_supervisions_requested_by_id_users"), type_="foreignkey")
        batch.drop_column("end_reason")
        batch.drop_column("ended_by_id")
        batch.drop_column("accepted_at")
        batch.drop_column("requested_by_id")
