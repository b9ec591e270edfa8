"""Client data keys: one per client, stored only wrapped by a master key."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from practice.database import IdMixin, utcnow
from practice.extensions import db


class ClientDataKey(IdMixin, db.Model):
    """A client's 256-bit data key, stored only wrapped by a master key of the keyring.

    `wrapped_key` is NULL once the key is destroyed (crypto-shredding): the client's
    clinical text is then unrecoverable.
    """

    __tablename__ = "client_data_keys"

    practice_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("practices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id"), unique=True)
    master_key_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rewrapped_at: Mapped[datetime | None]
    destroyed_at: Mapped[datetime | None]
