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
    with op.batch_alter_table("practices") as batch:
        batch.add_column(sa.Column("phone_region", sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table("practices") as batch:
        batch.drop_column("phone_region")
