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

A log that cannot be complete fails too: every practice's creation is audited (an entry
about the practice), so a practice with no entry in the log means the log was emptied or
cut back, and entries without their checkpoint mean the checkpoint was removed. A
checkpoint signed by another chain key is reported as that, not as an edited entry. A
checkpoint rebuilt by `flask audit repair-checkpoint` is reported on every run.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from practice.audit.models import AuditCheckpoint, AuditEntry
from practice.audit.service import (
    GENESIS,
    KEY_CHANGE_ACTION,
    REPAIR_ACTION,
    _key,
    checkpoint_signature,
    entry_hash,
    hashed_fields,
    insert_checkpoint,
    key_fingerprint,
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
    wrong_key: bool = False  # the log was written with another chain key
    notes: tuple[str, ...] = ()  # what an intact log records about itself (repairs)


@dataclass(frozen=True)
class Anchor:
    """The head a previous verification saw (seq 0: the empty log)."""

    seq: int
    entry_hash: str


class ChainBroken(Exception):
    """The first problem found; `bad_seq` is the entry it names, when there is one."""

    def __init__(self, problem: str, bad_seq: int | None, *, wrong_key: bool = False):
        super().__init__(problem)
        self.problem, self.bad_seq, self.wrong_key = problem, bad_seq, wrong_key


@dataclass
class _Walk:
    last_seq: int = 0
    prev_hash: str = GENESIS
    checked: int = 0
    anchor: Anchor | None = None
    practices: set[str] = field(default_factory=set)  # practices the log has entries about
    notes: list[str] = field(default_factory=list)
    # (first unverifiable seq, seq where this key took over, the other key's fingerprint)
    other_keys: list[tuple[int, int, str]] = field(default_factory=list)


_PRACTICES = sa.table("practices", sa.column("id", sa.Uuid()))


def _checkpoint(session: Session) -> tuple[int, str, str, str | None] | None:
    row = session.execute(
        sa.select(
            AuditCheckpoint.head_seq,
            AuditCheckpoint.head_hash,
            AuditCheckpoint.signature,
            AuditCheckpoint.key_fingerprint,
        ).where(AuditCheckpoint.id == 1)
    ).first()
    return tuple(row) if row else None


def _note(walk: _Walk, row) -> None:
    """Remember what the log says about the log and the practices it covers."""
    if row.object_type == "practice" and row.object_id:
        walk.practices.add(row.object_id)
    if row.action == REPAIR_ACTION:
        walk.notes.append(
            f"entry {row.seq}: the checkpoint was lost and rebuilt by `flask audit "
            f"repair-checkpoint` on {row.occurred_at:%Y-%m-%d %H:%M} UTC at entry "
            f"{row.object_id}; entries up to it were vouched for by the chain alone"
        )


def _walk_to(session: Session, walk: _Walk, head_seq: int, batch: int, key: bytes) -> None:
    """Check entries after `walk.last_seq` up to `head_seq`, in order."""
    while walk.last_seq < head_seq:
        query = sa.select(*COLUMNS).where(AuditEntry.seq <= head_seq).order_by(AuditEntry.seq)
        if walk.checked or walk.other_keys:
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
                if _skip_to_key_change(session, walk, row.seq):
                    break  # continue where this key took over
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
            _note(walk, row)


def _skip_to_key_change(session: Session, walk: _Walk, bad_seq: int) -> bool:
    """When a later entry records that another chain key took over (a restore onto a
    server with its own keys), the entries before it cannot be checked with this key:
    note them and continue from there. False when no such entry follows."""
    change = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.object_id)
        .where(AuditEntry.action == KEY_CHANGE_ACTION, AuditEntry.seq > bad_seq)
        .order_by(AuditEntry.seq)
        .limit(1)
    ).first()
    if change is None:
        return False
    walk.other_keys.append((bad_seq, change.seq, change.object_id or "?"))
    walk.practices.update(  # there, though unverifiable: not a cut log
        session.scalars(
            sa.select(AuditEntry.object_id).where(
                AuditEntry.object_type == "practice",
                AuditEntry.seq >= bad_seq,
                AuditEntry.seq < change.seq,
            )
        )
    )
    walk.last_seq, walk.prev_hash = change.seq - 1, change.prev_hash
    return True


def _check_other_keys(walk: _Walk) -> None:
    if not walk.other_keys:
        return
    first, took_over, fingerprint = walk.other_keys[0]
    raise ChainBroken(
        f"this log was written with another chain key up to entry {took_over - 1} (key "
        f"{fingerprint[:12]}; this server's key took over at entry {took_over}): entries "
        f"from {first} to {took_over - 1} cannot be checked here, which alone does not mean "
        "they were edited; configure the key they were written with to check them",
        first,
        wrong_key=True,
    )


def _first_after(session: Session, seq: int) -> int | None:
    return session.scalar(sa.select(sa.func.min(AuditEntry.seq)).where(AuditEntry.seq > seq))


def _last(session: Session) -> int | None:
    return session.scalar(sa.select(sa.func.max(AuditEntry.seq)))


def _check_signature(checkpoint: tuple) -> None:
    head_seq, head_hash, signature, fingerprint = checkpoint
    if hmac.compare_digest(signature, checkpoint_signature(head_seq, head_hash)):
        return
    ours = key_fingerprint()
    if fingerprint is not None and fingerprint != ours:
        raise ChainBroken(
            f"this log was written with another chain key (its checkpoint names key "
            f"{fingerprint[:12]}, this server's is {ours[:12]}): configure the "
            "PRACTICE_AUDIT_KEY (or SECRET_KEY) it was written with; this alone does "
            "not mean an entry was edited",
            None,
            wrong_key=True,
        )
    raise ChainBroken(
        "the checkpoint signature is invalid (it was forged or edited"
        + (
            ", or the log predates key fingerprints and another chain key is configured)"
            if fingerprint is None
            else ")"
        ),
        None,
    )


def _verify(session: Session, batch: int, walk: _Walk) -> None:
    key = _key("chain")
    checkpoint = _checkpoint(session)
    if checkpoint is None:
        first = _first_after(session, -(2**62))
        if first is not None:
            raise ChainBroken(
                f"the signed checkpoint is missing while the log holds entries up to "
                f"{_last(session)}: it was deleted (if it was lost, `flask audit "
                "repair-checkpoint` rebuilds it after checking the chain)",
                first,
            )
        return
    while True:
        head_seq, head_hash, _signature, _fingerprint = checkpoint
        _check_signature(checkpoint)
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


def _check_practices(session: Session, walk: _Walk) -> None:
    """Every practice's creation is audited: a practice the log says nothing about means
    the log was emptied or cut back (an old checkpoint put back)."""
    ids = session.scalars(sa.select(_PRACTICES.c.id)).all()
    missing = sorted(str(i) for i in ids if str(i) not in walk.practices)
    if not missing:
        return
    if walk.checked == 0:
        raise ChainBroken(
            f"the log is empty but {len(ids)} practice(s) exist, whose creation is always "
            "audited: the log was emptied",
            1,
        )
    raise ChainBroken(
        f"practice {missing[0]} exists but its creation is not in the log"
        + (f" (nor that of {len(missing) - 1} more)" if len(missing) > 1 else "")
        + f": the log was cut back or emptied (it ends at entry {walk.last_seq})",
        walk.last_seq + 1,
    )


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
        _check_practices(session, walk)
        _check_other_keys(walk)
    except ChainBroken as broken:
        return VerifyResult(
            False, walk.checked, broken.problem, broken.bad_seq, wrong_key=broken.wrong_key
        )
    return VerifyResult(
        True, walk.checked, head=(walk.last_seq, walk.prev_hash), notes=tuple(walk.notes)
    )


def rebuild_checkpoint(session: Session, anchor: Anchor | None = None, batch: int = 5000) -> int:
    """Rebuild a lost checkpoint at the last entry, after checking the whole chain (and
    the anchor, when given) and that no practice is missing from the log; returns the
    head's seq. ChainBroken when the checkpoint is there or the log fails a check. The
    caller records the repair and commits."""
    if _checkpoint(session) is not None:
        raise ChainBroken("the checkpoint is present: there is nothing to rebuild", None)
    walk = _Walk(anchor=anchor)
    last = _last(session)
    if last is not None:
        _walk_to(session, walk, last, batch, _key("chain"))
    _check_reaches(walk)
    _check_practices(session, walk)
    if last is None:
        raise ChainBroken("the log is empty: its first entry creates the checkpoint", None)
    insert_checkpoint(session.connection(), walk.last_seq, walk.prev_hash)
    return walk.last_seq
