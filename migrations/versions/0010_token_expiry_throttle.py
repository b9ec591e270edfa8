"""API tokens expire and show their last use; login throttling

(Placeholder reserved for this change; its owner fills in the operations and renames
the file to say what it does.)

Revision ID: 0010
Revises: 0009
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
