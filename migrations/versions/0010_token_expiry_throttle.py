"""Every API token expires; the account lockout columns go (throttling moved to the
rate-limit storage)

api_tokens.expires_at becomes NOT NULL: a token made without an expiry gets one 90 days
from the upgrade (PRACTICE_TOKEN_DAYS' default), so no token lives for ever and none stops
working on the day of the upgrade. users.failed_logins and users.locked_until are dropped:
sign-in failures are counted per account and address in flask-limiter's storage
(practice/auth/throttle.py), and nothing locks an account any more.

Revision ID: 0010
Revises: 0009
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

GRACE = timedelta(days=90)


def upgrade() -> None:
    tokens = sa.table("api_tokens", sa.column("expires_at", sa.DateTime(timezone=True)))
    expires = datetime.now(UTC) + GRACE
    if op.get_bind().dialect.name == "sqlite":
        expires = expires.replace(tzinfo=None)  # SQLite keeps naive UTC (practice.database)
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None)).values(expires_at=expires))
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of users would trip over the
    # foreign keys that point at it.
    op.drop_column("users", "locked_until")
    op.drop_column("users", "failed_logins")


def downgrade() -> None:
    op.add_column(
        "users",
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=True)
