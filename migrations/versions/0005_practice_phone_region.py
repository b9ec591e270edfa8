"""practices.phone_region: each practice's region for phone numbers without a country code

Until now one PRACTICE_PHONE_REGION applied to every practice of a deployment; a
deployment serving practices in several countries needs it per practice. NULL keeps
the deployment's setting.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("practices", sa.Column("phone_region", sa.String(length=2), nullable=True))


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35+): a batch rebuild of this table would trip over
    # the foreign keys that point at it.
    op.drop_column("practices", "phone_region")
