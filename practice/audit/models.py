"""The append-only, hash-chained audit log: one chain per practice, and one for the
deployment (entries about no practice, and every entry written before revision 0013)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from practice.extensions import db


class AuditEntry(db.Model):
    """One event: who did what to which object, when, from where, with what outcome.

    `entry_hash` covers every other column and the previous entry's hash, so an edit,
    deletion or reordering breaks the chain. Never holds clinical text. `chain_id` is the
    practice's id, or the nil UUID for the deployment chain; `seq` counts within it.
    """

    __tablename__ = "audit_entries"

    chain_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime]
    practice_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    entry_hash: Mapped[str] = mapped_column(sa.String(64))
    # The audit_pending row a deferred entry was sealed from (None when sealed inline):
    # unique and hashed, so a pending row put back after sealing is not sealed twice.
    pending_id: Mapped[uuid.UUID | None] = mapped_column(unique=True, index=True)


class AuditCheckpoint(db.Model):
    """The signed head of one chain (one row per chain), so a truncated tail is detected;
    its row is also the chain's lock."""

    __tablename__ = "audit_checkpoint"

    chain_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    head_seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    head_hash: Mapped[str] = mapped_column(sa.String(64))
    signature: Mapped[str] = mapped_column(sa.String(64))
    # Names the chain key that signed the head (see audit.service.key_fingerprint); NULL
    # on a checkpoint last moved before migration 0011.
    key_fingerprint: Mapped[str | None] = mapped_column(sa.String(32))


class AuditPending(db.Model):
    """An entry written but not yet sealed into its chain (deferred sealing, PostgreSQL).

    An audited request inserts its entries here, without the chain's lock; the sealer
    (practice.audit.sealer) moves them onto their chains in order, usually within a
    second. `mac` is an HMAC over the row's fields and id, so an entry edited while it
    waits is refused by the sealer and named by `flask audit verify`.
    """

    __tablename__ = "audit_pending"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    chain_id: Mapped[uuid.UUID] = mapped_column(index=True)
    occurred_at: Mapped[datetime]
    practice_id: Mapped[uuid.UUID | None]
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str | None] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    address: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    mac: Mapped[str] = mapped_column(sa.String(64))
    # The chain key's fingerprint when it was queued: a row of another key (a restore onto
    # a server with its own keys) is told apart from an edited one.
    key_fingerprint: Mapped[str] = mapped_column(sa.String(32))
    # The database's clock when it was queued: how long it has waited, whatever the app
    # hosts' clocks say (`flask audit verify` fails when entries wait too long).
    queued_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
