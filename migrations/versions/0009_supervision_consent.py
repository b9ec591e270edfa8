"""supervision is accepted by the supervised clinician; temporary passwords

(Placeholder reserved for this change; its owner fills in the operations and renames
the file to say what it does.)

Revision ID: 0009
Revises: 0008
"""

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
