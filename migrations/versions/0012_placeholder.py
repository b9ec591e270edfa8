"""ciphertexts bound to their version; cancellation reasons encrypted

(Placeholder reserved for this change; its owner fills in the operations and renames
the file to say what it does.)

Revision ID: 0012
Revises: 0011
"""

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
