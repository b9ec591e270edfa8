"""Recording audit events and verifying the chain.

Every domain calls `record(...)`. Events are held on the database session and written
when it commits, under a chain lock, so the chain has no gaps or forks and the lock is
the last one a transaction takes. When a request fails, its refusals and failures are
still written (see `keep_refusals_only`); successes that were rolled back are not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from practice.audit.models import AuditCheckpoint, AuditEntry
from practice.database import utcnow

PENDING = "audit_pending"
GENESIS = "0" * 64
OUTCOMES = ("success", "failure", "denied", "error")
# Any constant will do: it names the PostgreSQL advisory lock that serialises the chain.
CHAIN_LOCK_ID = 7_220_141


@dataclass(frozen=True)
class Event:
    action: str
    outcome: str
    practice_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    object_type: str | None
    object_id: str | None
    address: str | None
    occurred_at: datetime


def record(
    session: Session,
    action: str,
    *,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    outcome: str = "success",
    actor=None,
    practice_id: uuid.UUID | None = None,
) -> None:
    """Queue one audit event on `session`; it is written when the session commits.

    `actor` defaults to the logged-in user. Never pass clinical text in any argument.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if actor is None and has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            actor = current_user
    actor_id = getattr(actor, "id", None)
    if practice_id is None and actor is not None:
        practice_id = getattr(actor, "practice_id", None)
    address = request.remote_addr if has_request_context() else None
    session.info.setdefault(PENDING, []).append(
        Event(
            action=action,
            outcome=outcome,
            practice_id=practice_id,
            actor_id=actor_id,
            object_type=object_type,
            object_id=str(object_id) if object_id is not None else None,
            address=address,
            occurred_at=utcnow(),
        )
    )


def keep_refusals_only(session: Session) -> bool:
    """After a rollback: drop queued successes, keep refusals; True if any remain."""
    pending = [e for e in session.info.get(PENDING, []) if e.outcome != "success"]
    session.info[PENDING] = pending
    return bool(pending)


def entry_hash(prev_hash: str, fields: dict) -> str:
    """SHA-256 over the previous hash and this entry's fields, canonically encoded."""
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def hashed_fields(entry: AuditEntry) -> dict:
    return {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.isoformat(),
        "practice_id": str(entry.practice_id) if entry.practice_id else None,
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "address": entry.address,
        "outcome": entry.outcome,
    }


def checkpoint_signature(seq: int, head_hash: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"audit-head:{seq}:{head_hash}".encode(), hashlib.sha256).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": CHAIN_LOCK_ID})
    # SQLite: every transaction already holds the write lock (BEGIN IMMEDIATE).


def write_pending(session: Session) -> None:
    """Append queued events to the chain and move the signed checkpoint."""
    pending: list[Event] = session.info.pop(PENDING, [])
    if not pending:
        return
    _lock_chain(session)
    head = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (head.seq, head.entry_hash) if head else (0, GENESIS)
    for item in pending:
        seq += 1
        entry = AuditEntry(
            seq=seq,
            occurred_at=item.occurred_at,
            practice_id=item.practice_id,
            actor_id=item.actor_id,
            action=item.action,
            object_type=item.object_type,
            object_id=item.object_id,
            address=item.address,
            outcome=item.outcome,
            prev_hash=prev,
        )
        entry.entry_hash = entry_hash(prev, hashed_fields(entry))
        prev = entry.entry_hash
        session.add(entry)
    checkpoint = session.get(AuditCheckpoint, 1)
    if checkpoint is None:
        checkpoint = AuditCheckpoint(id=1)
        session.add(checkpoint)
    checkpoint.head_seq = seq
    checkpoint.head_hash = prev
    checkpoint.signature = checkpoint_signature(seq, prev)


def _before_commit(session: Session) -> None:
    write_pending(session)


def init_session_events() -> None:
    """Write queued audit events whenever a session commits (idempotent)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    bad_seq: int | None = None


def verify_chain(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the chain in order; name the first entry that was edited, deleted,
    reordered, or the tail that was truncated."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.seq >= expected_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return VerifyResult(
                    False, checked, f"entry {expected_seq} is missing (deleted)", expected_seq
                )
            if entry.prev_hash != prev_hash:
                return VerifyResult(
                    False,
                    checked,
                    f"entry {entry.seq} does not follow entry {entry.seq - 1} "
                    "(deleted, reordered or edited)",
                    entry.seq,
                )
            if entry_hash(prev_hash, hashed_fields(entry)) != entry.entry_hash:
                return VerifyResult(False, checked, f"entry {entry.seq} was edited", entry.seq)
            prev_hash, expected_seq, last_seq = entry.entry_hash, entry.seq + 1, entry.seq
            checked += 1
        session.expunge_all()
    checkpoint = session.get(AuditCheckpoint, 1)
    if checkpoint is None:
        if checked:
            return VerifyResult(False, checked, "the signed checkpoint is missing", None)
        return VerifyResult(True, 0)
    if not hmac.compare_digest(
        checkpoint.signature, checkpoint_signature(checkpoint.head_seq, checkpoint.head_hash)
    ):
        return VerifyResult(False, checked, "the checkpoint signature is invalid", None)
    if checkpoint.head_seq > last_seq:
        return VerifyResult(
            False,
            checked,
            f"entry {last_seq + 1} is missing: the log was truncated "
            f"(the checkpoint names entry {checkpoint.head_seq})",
            last_seq + 1,
        )
    if checkpoint.head_seq < last_seq or checkpoint.head_hash != prev_hash:
        bad = checkpoint.head_seq + 1 if checkpoint.head_seq < last_seq else last_seq
        return VerifyResult(
            False, checked, f"entry {bad} does not match the signed checkpoint", bad
        )
    return VerifyResult(True, checked)
