"""users.totp_recovery_hashes: one-time recovery codes for a lost authenticator

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("totp_recovery_hashes", sa.Text(), nullable=True))


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild of this table would trip over
    # the foreign keys that point at it.
    op.drop_column("users", "totp_recovery_hashes")
