"""room names unique per practice ignoring case, in the database too

The service already refused "Room A" beside "room a", but only by a check before the
insert, which two concurrent requests on PostgreSQL could both pass. The unique index
on (practice_id, lower(name)) makes the database refuse the second one.

Pairs that such a race already stored would stop the index from being built, so the
upgrade first renames every later duplicate ("room a (2)") and says so in its log.

Revision ID: 0004
Revises: 0003
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
NAME_LENGTH = 100


def _rename_case_duplicates(connection) -> None:
    """The oldest room of each name keeps it; later ones that differ only in case get the
    first free " (n)" suffix. "Differ only in case" is decided by the database's own
    lower(), the function the index uses (Python's str.lower() folds some letters, such
    as a final sigma, differently)."""
    rows = connection.execute(
        sa.text(
            "SELECT id, practice_id, name, lower(name) AS folded FROM rooms "
            "ORDER BY practice_id, created_at, id"
        )
    ).all()
    taken: dict = {}
    later = []
    for row in rows:
        names = taken.setdefault(row.practice_id, set())
        if row.folded in names:
            later.append(row)
        else:
            names.add(row.folded)
    fold = sa.text("SELECT lower(:name)")
    for row in later:
        names = taken[row.practice_id]
        n = 2
        while True:
            suffix = f" ({n})"
            candidate = row.name[: NAME_LENGTH - len(suffix)] + suffix
            folded = connection.execute(fold, {"name": candidate}).scalar()
            if folded not in names:
                break
            n += 1
        names.add(folded)
        connection.execute(
            sa.text("UPDATE rooms SET name = :name WHERE id = :id"),
            {"name": candidate, "id": row.id},
        )
        log.warning("room %s renamed: its name differed from another only in case", row.id)


def upgrade():
    _rename_case_duplicates(op.get_bind())
    op.create_index(
        "uq_rooms_practice_id_lower_name",
        "rooms",
        ["practice_id", sa.text("lower(name)")],
        unique=True,
    )


def downgrade():
    op.drop_index("uq_rooms_practice_id_lower_name", table_name="rooms")
