"""Verifying the audit chain: name the first entry that was edited, deleted, reordered,
inserted, or the tail that was truncated.

The walk reads plain column rows in keyset batches (no ORM identity map), so it runs in
constant memory and leaves the caller's session untouched. It is safe while the
application keeps writing: entries and the checkpoint are committed together, so the walk
follows the checkpoint until it stops moving, and only then treats entries beyond the
signed head as inserted.

An anchor (the head seq and hash seen by the last verification, kept outside the
database) closes what the signed checkpoint alone cannot: someone with write access who
kept an old signed checkpoint could cut the log back to it and put that checkpoint back.
With an anchor, a log shorter than the anchored entry, or with a different entry there,
is reported.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from practice.audit.models import AuditCheckpoint, AuditEntry
from practice.audit.service import (
    GENESIS,
    _key,
    checkpoint_signature,
    entry_hash,
    hashed_fields,
)

COLUMNS = (
    AuditEntry.seq,
    AuditEntry.occurred_at,
    AuditEntry.practice_id,
    AuditEntry.actor_id,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.address,
    AuditEntry.outcome,
    AuditEntry.prev_hash,
    AuditEntry.entry_hash,
)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    bad_seq: int | None = None
    head: tuple[int, str] = (0, GENESIS)  # the last entry checked: (seq, entry hash)


@dataclass(frozen=True)
class Anchor:
    """The head a previous verification saw (seq 0: the empty log)."""

    seq: int
    entry_hash: str


class ChainBroken(Exception):
    """The first problem found; `bad_seq` is the entry it names, when there is one."""

    def __init__(self, problem: str, bad_seq: int | None):
        super().__init__(problem)
        self.problem, self.bad_seq = problem, bad_seq


@dataclass
class _Walk:
    last_seq: int = 0
    prev_hash: str = GENESIS
    checked: int = 0
    anchor: Anchor | None = None


def _checkpoint(session: Session) -> tuple[int, str, str] | None:
    row = session.execute(
        sa.select(
            AuditCheckpoint.head_seq, AuditCheckpoint.head_hash, AuditCheckpoint.signature
        ).where(AuditCheckpoint.id == 1)
    ).first()
    return tuple(row) if row else None


def _walk_to(session: Session, walk: _Walk, head_seq: int, batch: int, key: bytes) -> None:
    """Check entries after `walk.last_seq` up to `head_seq`, in order."""
    while walk.last_seq < head_seq:
        query = sa.select(*COLUMNS).where(AuditEntry.seq <= head_seq).order_by(AuditEntry.seq)
        if walk.checked:
            query = query.where(AuditEntry.seq > walk.last_seq)
        rows = session.execute(query.limit(batch)).all()
        if not rows:
            raise ChainBroken(
                f"entry {walk.last_seq + 1} is missing: the log was truncated "
                f"(the signed checkpoint names entry {head_seq})",
                walk.last_seq + 1,
            )
        for row in rows:
            expected = walk.last_seq + 1
            if row.seq < expected:
                raise ChainBroken(f"entry {row.seq} is not part of the chain (inserted)", row.seq)
            if row.seq > expected:
                raise ChainBroken(f"entry {expected} is missing (deleted)", expected)
            if row.prev_hash != walk.prev_hash:
                raise ChainBroken(
                    f"entry {row.seq} does not follow entry {row.seq - 1} "
                    "(an entry was deleted, reordered or inserted here)",
                    row.seq,
                )
            if not hmac.compare_digest(
                entry_hash(walk.prev_hash, hashed_fields(row), key), row.entry_hash
            ):
                raise ChainBroken(f"entry {row.seq} was edited (its hash does not match)", row.seq)
            anchor = walk.anchor
            if anchor is not None and row.seq == anchor.seq and row.entry_hash != anchor.entry_hash:
                raise ChainBroken(
                    f"entry {row.seq} is not the one the last verification anchored "
                    "(the log was rewritten)",
                    row.seq,
                )
            walk.last_seq, walk.prev_hash = row.seq, row.entry_hash
            walk.checked += 1


def _first_after(session: Session, seq: int) -> int | None:
    return session.scalar(sa.select(sa.func.min(AuditEntry.seq)).where(AuditEntry.seq > seq))


def _verify(session: Session, batch: int, walk: _Walk) -> None:
    key = _key("chain")
    checkpoint = _checkpoint(session)
    if checkpoint is None:
        first = _first_after(session, -(2**62))
        if first is not None:
            raise ChainBroken("the signed checkpoint is missing", first)
        return
    while True:
        head_seq, head_hash, signature = checkpoint
        if not hmac.compare_digest(signature, checkpoint_signature(head_seq, head_hash)):
            raise ChainBroken("the checkpoint signature is invalid (it was forged or edited)", None)
        if head_seq < walk.last_seq:
            raise ChainBroken(
                f"the signed checkpoint moved back to entry {head_seq} (it was replaced)", None
            )
        _walk_to(session, walk, head_seq, batch, key)
        if walk.prev_hash != head_hash:
            raise ChainBroken(f"entry {head_seq} does not match the signed checkpoint", head_seq)
        extra = _first_after(session, head_seq)
        if extra is None:
            return
        latest = _checkpoint(session)
        if latest is None:
            raise ChainBroken("the signed checkpoint is missing", None)
        if latest == checkpoint:
            raise ChainBroken(
                f"entry {extra} comes after the signed head (entry {head_seq}): inserted", extra
            )
        checkpoint = latest


def _check_reaches(walk: _Walk) -> None:
    anchor = walk.anchor
    if anchor is not None and walk.last_seq < anchor.seq:
        raise ChainBroken(
            f"the log ends at entry {walk.last_seq}, but the last verification saw entry "
            f"{anchor.seq}: it was truncated and an old checkpoint put back",
            walk.last_seq + 1,
        )


def verify_chain(session: Session, batch: int = 5000, anchor: Anchor | None = None) -> VerifyResult:
    """Walk the whole chain; the result names the first bad entry, if any. With `anchor`
    (see the module docstring) the log must still reach it, unchanged."""
    walk = _Walk(anchor=anchor)
    try:
        _verify(session, batch, walk)
        _check_reaches(walk)
    except ChainBroken as broken:
        return VerifyResult(False, walk.checked, broken.problem, broken.bad_seq)
    return VerifyResult(True, walk.checked, head=(walk.last_seq, walk.prev_hash))
