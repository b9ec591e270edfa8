"""cancellation reasons encrypted: a pick-list category in the clear, the words sealed

`appointments.cancel_reason` (free text in the clear, and a reason can be clinical)
gives way to `cancel_category` (illness, schedule, transport, weather,
clinician_unavailable, other) and `cancel_note`: the words sealed under the client's
data key like every clinical value (table "appointments", column "cancel_note", the
appointment's id; practice/scheduling/cancel_reasons.py).

Existing reasons are sealed here, in the upgrade, with the keyring the app is configured
with (`flask db upgrade` runs inside the app, which has loaded PRACTICE_KEYRING or the
development keyring), filed under "other"; then the plain column is dropped, so no
plaintext is left behind in the table. A client who has no data key yet gets one; a
client whose key was shredded keeps the category and loses the words, as intended by
the shred. With reasons to seal and no keyring, the upgrade stops with that message and
changes nothing. The downgrade opens the words back into the plain column (the old
schema has no other place for them), with the same keyring.

Revision ID: 0012
Revises: 0011
"""

import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from practice.database import UTCDateTime
from practice.keys.envelope import (
    ValueCipher,
    generate_data_key,
    pad_json,
    unwrap_data_key,
    wrap_data_key,
)
from practice.keys.keyring import Keyring

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE, COLUMN = "appointments", "cancel_note"
MIGRATED_CATEGORY = "other"

appointments = sa.table(
    "appointments",
    sa.column("id", sa.Uuid()),
    sa.column("practice_id", sa.Uuid()),
    sa.column("client_id", sa.Uuid()),
    sa.column("cancel_reason", sa.String()),
    sa.column("cancel_category", sa.String()),
    sa.column("cancel_note", sa.LargeBinary()),
)
data_keys = sa.table(
    "client_data_keys",
    sa.column("id", sa.Uuid()),
    sa.column("practice_id", sa.Uuid()),
    sa.column("client_id", sa.Uuid()),
    sa.column("master_key_id", sa.String()),
    sa.column("wrapped_key", sa.LargeBinary()),
    sa.column("created_at", UTCDateTime()),
)


def _keyring() -> Keyring:
    from flask import current_app, has_app_context

    keyring = current_app.extensions.get("keyring") if has_app_context() else None
    if keyring is None:
        raise RuntimeError(
            "migration 0012 seals existing cancellation reasons and needs the keyring: "
            "run `flask db upgrade` with PRACTICE_KEYRING set"
        )
    return keyring


def _cipher(conn, keyring, practice_id, client_id, *, create: bool):
    """The client's value cipher; None when the key was shredded (or, without `create`,
    never made)."""
    row = conn.execute(
        sa.select(data_keys.c.id, data_keys.c.master_key_id, data_keys.c.wrapped_key).where(
            data_keys.c.client_id == client_id
        )
    ).first()
    if row is None:
        if not create:
            return None
        key_id, key = uuid.uuid4(), generate_data_key()
        master_id, wrapped = wrap_data_key(keyring, practice_id, client_id, key_id, key)
        conn.execute(
            data_keys.insert().values(
                id=key_id,
                practice_id=practice_id,
                client_id=client_id,
                master_key_id=master_id,
                wrapped_key=wrapped,
                created_at=datetime.now(UTC),
            )
        )
        return ValueCipher(practice_id, client_id, key_id, key)
    if row.wrapped_key is None:
        return None
    key = unwrap_data_key(
        keyring, practice_id, client_id, row.id, row.master_key_id, row.wrapped_key
    )
    return ValueCipher(practice_id, client_id, row.id, key)


def _by_client(rows) -> dict:
    grouped: dict = {}
    for row in rows:
        grouped.setdefault((row.practice_id, row.client_id), []).append(row)
    return grouped


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            appointments.c.id,
            appointments.c.practice_id,
            appointments.c.client_id,
            appointments.c.cancel_reason,
        ).where(appointments.c.cancel_reason.is_not(None), appointments.c.cancel_reason != "")
    ).all()
    keyring = _keyring() if rows else None  # before any change: no keyring, no upgrade
    op.add_column("appointments", sa.Column("cancel_category", sa.String(32), nullable=True))
    op.add_column("appointments", sa.Column("cancel_note", sa.LargeBinary(), nullable=True))
    if rows:
        for (practice_id, client_id), items in _by_client(rows).items():
            cipher = _cipher(conn, keyring, practice_id, client_id, create=True)
            for item in items:
                sealed = None
                if cipher is not None:
                    text = json.dumps(item.cancel_reason, ensure_ascii=False, separators=(",", ":"))
                    sealed = cipher.encrypt(TABLE, COLUMN, item.id, pad_json(text.encode()))
                conn.execute(
                    appointments.update()
                    .where(appointments.c.id == item.id)
                    .values(cancel_category=MIGRATED_CATEGORY, cancel_note=sealed)
                )
    _drop_columns("cancel_reason")


def downgrade():
    op.add_column("appointments", sa.Column("cancel_reason", sa.String(500), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            appointments.c.id,
            appointments.c.practice_id,
            appointments.c.client_id,
            appointments.c.cancel_note,
        ).where(appointments.c.cancel_note.is_not(None))
    ).all()
    if rows:
        keyring = _keyring()
        for (practice_id, client_id), items in _by_client(rows).items():
            cipher = _cipher(conn, keyring, practice_id, client_id, create=False)
            if cipher is None:
                continue
            for item in items:
                plain = cipher.decrypt(TABLE, COLUMN, item.id, bytes(item.cancel_note))
                conn.execute(
                    appointments.update()
                    .where(appointments.c.id == item.id)
                    .values(cancel_reason=json.loads(plain)[:500])
                )
    _drop_columns("cancel_note", "cancel_category")


def _drop_columns(*names: str) -> None:
    """SQLite (3.35+) drops a column in place; Alembic's batch mode would rebuild the table
    from a reflection that cannot read the rooms' expression index."""
    for name in names:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE appointments DROP COLUMN {name}")
        else:
            op.drop_column("appointments", name)
