"""room names unique per practice ignoring case, in the database too

The service already refused "Room A" beside "room a", but only by a check before the
insert, which two concurrent requests on PostgreSQL could both pass. The unique index
on (practice_id, lower(name)) makes the database refuse the second one.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "uq_rooms_practice_id_lower_name",
        "rooms",
        ["practice_id", sa.text("lower(name)")],
        unique=True,
    )


def downgrade():
    op.drop_index("uq_rooms_practice_id_lower_name", table_name="rooms")
