"""users.password_reset_required: a password someone else set must be replaced first

The operator (flask practice reset-password) can now set a temporary password for a user
who forgot theirs; until the user chooses their own, they reach only the login,
logout, me, csrf and password endpoints.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "users",
        sa.Column(
            "password_reset_required", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild of this table would trip over
    # the foreign keys that point at it.
    op.drop_column("users", "password_reset_required")
