"""Verifying the audit chains: name, per chain, the first entry that was edited, deleted,
reordered, inserted, or the tail that was truncated.

There is one chain per practice and one for the deployment (practice-less events, and
the single chain every entry was written to before revision 0013). Each is walked on its
own, in order, against its own signed checkpoint.

The walk reads plain column rows in keyset batches (no ORM identity map), so it runs in
constant memory and leaves the caller's session untouched. It is safe while the
application keeps writing: entries and the checkpoint are committed together, so the walk
follows the checkpoint until it stops moving, and only then treats entries beyond the
signed head as inserted.

An anchor (the heads seen by the last verification, kept outside the database) closes
what the signed checkpoints alone cannot: someone with write access who kept an old
signed checkpoint could cut a chain back to it and put that checkpoint back. With an
anchor, a chain shorter than the anchored entry, or with a different entry there, is
reported.

A log that cannot be complete fails too: every practice's creation is recorded on the
deployment chain (before revision 0013 as `practice.create`, since then as
`audit.chain_open` beside the `practice.create` that starts the practice's own chain), so
a practice the deployment chain says nothing about means it was emptied or cut back; a
practice without its chain's checkpoint, or entries without their checkpoint, mean a
checkpoint was removed. A checkpoint signed by another chain key is reported as that, not
as an edited entry. A checkpoint rebuilt by `flask audit repair-checkpoint` is reported on
every run.

Entries still waiting in `audit_pending` (deferred sealing, practice/audit/sealer.py) are
reported as pending, not as missing: a practice whose creation waits there is complete.
A pending entry whose HMAC does not match was edited while it waited, and one whose id a
sealed entry already carries is a copy put back: both are named.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from practice.audit.models import AuditCheckpoint, AuditEntry, AuditPending
from practice.audit.service import (
    DEPLOYMENT_CHAIN,
    GENESIS,
    KEY_CHANGE_ACTION,
    LOST_ACTION,
    OTHER_KEY_ACTION,
    REFUSED_ACTION,
    REPAIR_ACTION,
    SPLIT_ACTION,
    _key,
    chain_name,
    checkpoint_signature,
    entry_hash,
    hashed_fields,
    insert_checkpoint,
    key_fingerprint,
    pending_mac,
    same_digest,
)
from practice.database import UTCDateTime

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
    AuditEntry.pending_id,
)


@dataclass(frozen=True)
class Problem:
    chain: uuid.UUID
    problem: str
    bad_seq: int | None
    wrong_key: bool = False
    # Only the sealer's own record of an entry it refused or found gone: the chain itself
    # was walked whole and is intact, so its head can still be anchored.
    alarm: bool = False


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None  # the first problem found (chains in order, deployment first)
    bad_seq: int | None = None  # the entry it names, on `chain`
    head: tuple[int, str] = (0, GENESIS)  # the deployment chain's last entry: (seq, hash)
    wrong_key: bool = False  # every problem is "written with another chain key"
    notes: tuple[str, ...] = ()  # what an intact log records about itself (repairs)
    chain: uuid.UUID | None = None  # the chain `problem` is about
    problems: tuple[Problem, ...] = ()  # one per broken chain
    # chain -> (seq, hash) of every chain walked whole (intact, or broken only by the
    # sealer's alarm entries)
    heads: dict = field(default_factory=dict)
    pending: int = 0  # entries waiting to be sealed (deferred sealing): not yet checked
    oldest_pending: datetime | None = None  # when the oldest of them was recorded


@dataclass(frozen=True)
class Waiting:
    """The entries waiting to be sealed, as verification saw them before its walk."""

    count: int = 0
    oldest: datetime | None = None
    chains: frozenset = frozenset()  # chains with entries waiting
    opened: frozenset = frozenset()  # practices whose creation waits on the deployment chain
    edited: tuple = ()  # (chain, pending id, what): edited, or a copy of a sealed entry


def pending_columns(bind) -> list:
    """The queue's columns, with an `occurred_at` the driver cannot fail on: someone with
    database access can write 'infinity' or a year past 9999 there, which no datetime
    holds; such a time reads as NULL (and the entry as edited) instead of raising."""
    table = AuditPending.__table__
    when = table.c.occurred_at
    if bind.dialect.name == "postgresql":
        when = sa.case(
            (
                sa.and_(
                    sa.func.isfinite(when),
                    when.between(
                        sa.literal(datetime(1970, 1, 1, tzinfo=UTC), UTCDateTime()),
                        sa.literal(datetime(9000, 1, 1, tzinfo=UTC), UTCDateTime()),
                    ),
                ),
                when,
            ),
            else_=sa.null(),
        )
    return [c for c in table.c if c.name != "occurred_at"] + [
        sa.type_coerce(when, UTCDateTime()).label("occurred_at")
    ]


def waiting_query(bind) -> sa.Select:
    """The queue in sealing order, each row with the seq of a sealed entry already
    carrying its id (`sealed_as`). One statement, one snapshot: an entry the sealer moves
    meanwhile is seen waiting or sealed, never both, so a genuine one is never taken for
    a copy."""
    table = AuditPending.__table__
    return (
        sa.select(*pending_columns(bind), AuditEntry.seq.label("sealed_as"))
        .outerjoin(AuditEntry, AuditEntry.pending_id == table.c.id)
        .order_by(table.c.occurred_at, table.c.id)
    )


def foreign_fingerprints(session: Session | sa.Connection) -> set[str]:
    """The fingerprints of chain keys this log was written with before the configured
    one (named by checkpoints and key-change entries), so only an entry queued under one
    of them counts as another key's: any other mismatch is an edit."""
    ours = key_fingerprint()
    named = set(session.scalars(sa.select(AuditCheckpoint.key_fingerprint)))
    named.update(
        session.scalars(
            sa.select(AuditEntry.object_id).where(AuditEntry.action == KEY_CHANGE_ACTION)
        )
    )
    return {f for f in named if f and f != ours}


def waiting_entries(session: Session, practice: uuid.UUID | None = None) -> Waiting:
    """Read and check the pending entries (of one practice's chain, with `practice`)."""
    query = waiting_query(session.get_bind())
    if practice is not None:
        query = query.where(AuditPending.chain_id == practice)
    rows = session.execute(query).all()
    if not rows:
        return Waiting()
    key, foreign = _key("pending"), None
    edited = []
    for row in rows:
        if row.sealed_as is not None:
            edited.append((row.chain_id, row.id, "is a copy of an entry already sealed, put back"))
        elif row.occurred_at is None:
            edited.append((row.chain_id, row.id, "has an impossible time: it was edited"))
        elif not same_digest(row.mac, pending_mac(row, key)):
            if foreign is None:  # read only when some entry fails its HMAC
                foreign = foreign_fingerprints(session)
            what = (
                "was queued under another chain key (unverifiable)"
                if row.key_fingerprint in foreign
                else "does not match its HMAC: it was edited while it waited"
            )
            edited.append((row.chain_id, row.id, what))
    refused = {pending_id for _chain, pending_id, _what in edited}
    times = [row.occurred_at for row in rows if row.occurred_at is not None]
    return Waiting(
        count=len(rows),
        oldest=min(times, default=None),
        chains=frozenset(row.chain_id for row in rows),
        opened=frozenset(
            row.object_id
            for row in rows
            if row.chain_id == DEPLOYMENT_CHAIN
            and row.object_type == "practice"
            and row.id not in refused
        ),
        edited=tuple(edited),
    )


@dataclass(frozen=True)
class Anchor:
    """The head of one chain a previous verification saw (seq 0: the empty chain)."""

    seq: int
    entry_hash: str


class ChainBroken(Exception):
    """The first problem found; `bad_seq` is the entry it names, when there is one."""

    def __init__(self, problem: str, bad_seq: int | None, *, wrong_key: bool = False):
        super().__init__(problem)
        self.problem, self.bad_seq, self.wrong_key = problem, bad_seq, wrong_key


@dataclass
class _Walk:
    chain: uuid.UUID = DEPLOYMENT_CHAIN
    last_seq: int = 0
    prev_hash: str = GENESIS
    checked: int = 0
    anchor: Anchor | None = None
    practices: set[str] = field(default_factory=set)  # practices the chain has entries about
    notes: list[str] = field(default_factory=list)
    # (first unverifiable seq, seq where this key took over, the other key's fingerprint)
    other_keys: list[tuple[int, int, str]] = field(default_factory=list)
    # Entries the sealer wrote in place of queued ones it could not seal: (seq, action).
    alarms: list[tuple[int, str]] = field(default_factory=list)


PRACTICES = sa.table("practices", sa.column("id", sa.Uuid()))


def _in_chain(walk: _Walk):
    return AuditEntry.chain_id == walk.chain


def _checkpoint(session: Session, chain: uuid.UUID) -> tuple[int, str, str, str | None] | None:
    row = session.execute(
        sa.select(
            AuditCheckpoint.head_seq,
            AuditCheckpoint.head_hash,
            AuditCheckpoint.signature,
            AuditCheckpoint.key_fingerprint,
        ).where(AuditCheckpoint.chain_id == chain)
    ).first()
    return tuple(row) if row else None


def _note(walk: _Walk, row) -> None:
    """Remember what the log says about the log and the practices it covers."""
    if row.action in _ALARMS:
        walk.alarms.append((row.seq, row.action))
    if row.object_type == "practice" and row.object_id:
        walk.practices.add(row.object_id)
    if row.action == REPAIR_ACTION:
        walk.notes.append(
            f"{chain_name(walk.chain)}, entry {row.seq}: the checkpoint was lost and rebuilt "
            f"by `flask audit repair-checkpoint` on {row.occurred_at:%Y-%m-%d %H:%M} UTC at "
            f"entry {row.object_id}; entries up to it were vouched for by the chain alone"
        )
    if row.action == SPLIT_ACTION:
        walk.notes.append(
            f"deployment chain, entry {row.seq}: the single chain of every practice ended "
            f"at entry {row.object_id} (migration 0013); each practice's later entries are "
            "on its own chain"
        )


_ALARMS = {
    REFUSED_ACTION: "the sealer refused a queued entry (edited, or a copy of one already "
    "sealed, while it waited)",
    LOST_ACTION: "a queued entry this app committed was removed before it was sealed",
    OTHER_KEY_ACTION: "a queued entry was written with another chain key and could not be checked",
}


def _check_row(walk: _Walk, row) -> None:
    if walk.chain != DEPLOYMENT_CHAIN and row.practice_id != walk.chain:
        raise ChainBroken(
            f"entry {row.seq} is about another practice than its chain's (moved)", row.seq
        )
    anchor = walk.anchor
    if anchor is not None and row.seq == anchor.seq and row.entry_hash != anchor.entry_hash:
        raise ChainBroken(
            f"entry {row.seq} is not the one the last verification anchored "
            "(the log was rewritten)",
            row.seq,
        )


def _walk_to(session: Session, walk: _Walk, head_seq: int, batch: int, key: bytes) -> None:
    """Check entries after `walk.last_seq` up to `head_seq`, in order."""
    while walk.last_seq < head_seq:
        query = (
            sa.select(*COLUMNS)
            .where(_in_chain(walk), AuditEntry.seq <= head_seq)
            .order_by(AuditEntry.seq)
        )
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
            if not same_digest(row.entry_hash, entry_hash(walk.prev_hash, hashed_fields(row), key)):
                if _skip_to_key_change(session, walk, row.seq):
                    break  # continue where this key took over
                raise ChainBroken(f"entry {row.seq} was edited (its hash does not match)", row.seq)
            _check_row(walk, row)
            walk.last_seq, walk.prev_hash = row.seq, row.entry_hash
            walk.checked += 1
            _note(walk, row)


def _skip_to_key_change(session: Session, walk: _Walk, bad_seq: int) -> bool:
    """When a later entry records that another chain key took over (a restore onto a
    server with its own keys), the entries before it cannot be checked with this key:
    note them and continue from there. False when no such entry follows."""
    change = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.object_id)
        .where(_in_chain(walk), AuditEntry.action == KEY_CHANGE_ACTION, AuditEntry.seq > bad_seq)
        .order_by(AuditEntry.seq)
        .limit(1)
    ).first()
    if change is None:
        return False
    walk.other_keys.append((bad_seq, change.seq, change.object_id or "?"))
    walk.practices.update(  # there, though unverifiable: not a cut log
        session.scalars(
            sa.select(AuditEntry.object_id).where(
                _in_chain(walk),
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


def _first_after(session: Session, chain: uuid.UUID, seq: int) -> int | None:
    return session.scalar(
        sa.select(sa.func.min(AuditEntry.seq)).where(
            AuditEntry.chain_id == chain, AuditEntry.seq > seq
        )
    )


def _last(session: Session, chain: uuid.UUID) -> int | None:
    return session.scalar(
        sa.select(sa.func.max(AuditEntry.seq)).where(AuditEntry.chain_id == chain)
    )


def _check_signature(checkpoint: tuple, chain: uuid.UUID) -> None:
    head_seq, head_hash, signature, fingerprint = checkpoint
    if same_digest(signature, checkpoint_signature(head_seq, head_hash, chain)):
        return
    ours = key_fingerprint()
    if fingerprint is not None and fingerprint != ours:
        raise ChainBroken(
            f"this log was written with another chain key (its checkpoint names key "
            f"{fingerprint[:12]}, this server's is {ours[:12]}): configure the "
            "PRACTICE_AUDIT_KEY (or SECRET_KEY) it was written with; this alone is no "
            "sign of tampering",
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
    checkpoint = _checkpoint(session, walk.chain)
    if checkpoint is None:
        first = _first_after(session, walk.chain, -(2**62))
        if first is not None:
            # Its first sealing may have committed between the two reads.
            checkpoint = _checkpoint(session, walk.chain)
        if first is not None and checkpoint is None:
            raise ChainBroken(
                f"the signed checkpoint is missing while the log holds entries up to "
                f"{_last(session, walk.chain)}: it was deleted (if it was lost, `flask audit "
                "repair-checkpoint` rebuilds it after checking the chain)",
                first,
            )
        if checkpoint is None:
            return
    while True:
        head_seq, head_hash, _signature, _fingerprint = checkpoint
        _check_signature(checkpoint, walk.chain)
        if head_seq < walk.last_seq:
            raise ChainBroken(
                f"the signed checkpoint moved back to entry {head_seq} (it was replaced)", None
            )
        _walk_to(session, walk, head_seq, batch, key)
        if walk.prev_hash != head_hash:
            raise ChainBroken(f"entry {head_seq} does not match the signed checkpoint", head_seq)
        extra = _first_after(session, walk.chain, head_seq)
        if extra is None:
            return
        latest = _checkpoint(session, walk.chain)
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


def _check_practices(session: Session, deployment: _Walk, ids: list, chains: set) -> None:
    """Every practice's creation is on the deployment chain: a practice it says nothing
    about means the log was emptied or cut back (an old checkpoint put back). Every
    practice has its chain's checkpoint (migration 0013 gave the older ones theirs)."""
    missing = sorted(str(i) for i in ids if str(i) not in deployment.practices)
    if missing:
        if deployment.checked == 0:
            raise ChainBroken(
                f"the log is empty but {len(ids)} practice(s) exist, whose creation is always "
                "audited: the log was emptied",
                1,
            )
        raise ChainBroken(
            f"practice {missing[0]} exists but its creation is not in the log"
            + (f" (nor that of {len(missing) - 1} more)" if len(missing) > 1 else "")
            + f": the log was cut back or emptied (it ends at entry {deployment.last_seq})",
            deployment.last_seq + 1,
        )
    without = sorted(str(i) for i in ids if i not in chains)
    if without:
        raise ChainBroken(
            f"practice {without[0]} has no chain checkpoint"
            + (f" (nor have {len(without) - 1} more)" if len(without) > 1 else "")
            + ": its chain was deleted",
            None,
        )


def _anchors(anchor) -> dict:
    if anchor is None:
        return {}
    if isinstance(anchor, Anchor):
        return {DEPLOYMENT_CHAIN: anchor}
    return dict(anchor)


def chains_of(session: Session) -> list[uuid.UUID]:
    """Every chain the log has a checkpoint or entries for: the deployment chain first,
    then the practices' chains in a fixed order."""
    found = set(session.scalars(sa.select(AuditCheckpoint.chain_id)))
    found.update(session.scalars(sa.select(AuditEntry.chain_id).distinct()))
    found.discard(DEPLOYMENT_CHAIN)
    return [DEPLOYMENT_CHAIN, *sorted(found)]


def _walk_chain(session: Session, walk: _Walk, batch: int) -> Problem | None:
    try:
        _verify(session, batch, walk)
        _check_reaches(walk)
    except ChainBroken as broken:
        return Problem(walk.chain, broken.problem, broken.bad_seq, broken.wrong_key)
    # Tampering the sealer recorded is not hidden behind a key change.
    if any(action != OTHER_KEY_ACTION for _seq, action in walk.alarms):
        return _alarm_problem(walk)
    try:
        _check_other_keys(walk)
    except ChainBroken as broken:
        return Problem(walk.chain, broken.problem, broken.bad_seq, broken.wrong_key)
    return _alarm_problem(walk)


def _alarm_problem(walk: _Walk) -> Problem | None:
    """The first entry the sealer wrote in place of one it could not seal, if any."""
    if not walk.alarms:
        return None
    seq, action = walk.alarms[0]
    more = f" ({len(walk.alarms) - 1} more such entries)" if len(walk.alarms) > 1 else ""
    wrong_key = all(a == OTHER_KEY_ACTION for _s, a in walk.alarms)
    return Problem(walk.chain, f"entry {seq}: {_ALARMS[action]}{more}", seq, wrong_key, True)


def verify_chain(
    session: Session,
    batch: int = 5000,
    anchor: Anchor | dict | None = None,
    practice: uuid.UUID | None = None,
) -> VerifyResult:
    """Walk every chain (or, with `practice`, that practice's chain only); the result
    names the first bad entry of each broken chain. With `anchor` (one Anchor: the
    deployment chain's; or a mapping chain -> Anchor, see the module docstring) every
    anchored chain must still reach its anchor, unchanged."""
    anchors = _anchors(anchor)
    # Practices first, then the waiting entries, then the walk: a practice's creation is
    # committed with the practice, so it is in the walk or among these (sealing moves an
    # entry from the one to the other, never out of both).
    ids = session.scalars(sa.select(PRACTICES.c.id)).all() if practice is None else []
    waiting = waiting_entries(session, practice)
    chains = [practice] if practice is not None else chains_of(session)
    for chain in anchors:  # an anchored chain that vanished entirely is walked too (empty)
        if chain not in chains and practice is None:
            chains.append(chain)
    problems: list[Problem] = []
    walks: dict[uuid.UUID, _Walk] = {}
    for chain in chains:
        walk = walks[chain] = _Walk(chain=chain, anchor=anchors.get(chain))
        problem = _walk_chain(session, walk, batch)
        if problem is not None:
            problems.append(problem)
    for chain, pending_id, what in waiting.edited:
        problems.append(
            Problem(
                chain,
                f"queued entry {pending_id} {what}; the sealer will record it as refused",
                None,
                wrong_key="another chain key" in what,
            )
        )
    deployment = walks.get(DEPLOYMENT_CHAIN)
    walked = not any(p.chain == DEPLOYMENT_CHAIN and not p.alarm for p in problems)
    if deployment is not None and walked:
        deployment.practices.update(waiting.opened)
        with_checkpoint = set(session.scalars(sa.select(AuditCheckpoint.chain_id)))
        with_checkpoint.update(waiting.chains)  # the first sealing creates the checkpoint
        try:
            _check_practices(session, deployment, ids, with_checkpoint)
        except ChainBroken as broken:
            problems.insert(0, Problem(DEPLOYMENT_CHAIN, broken.problem, broken.bad_seq))
    elif (
        practice is not None
        and not problems
        and practice not in waiting.chains
        and _checkpoint(session, practice) is None
    ):
        exists = sa.select(PRACTICES.c.id).where(PRACTICES.c.id == practice)
        if session.execute(exists).first() is not None:
            problems.append(Problem(practice, "its chain checkpoint is missing: deleted", None))
    checked = sum(walk.checked for walk in walks.values())
    notes = tuple(note for walk in walks.values() for note in walk.notes)
    broken = {p.chain for p in problems if not p.alarm}
    heads = {
        chain: (walk.last_seq, walk.prev_hash)
        for chain, walk in walks.items()
        if chain not in broken
    }
    if problems:
        first = problems[0]
        return VerifyResult(
            False,
            checked,
            f"{chain_name(first.chain)}: {first.problem}",
            first.bad_seq,
            wrong_key=all(p.wrong_key for p in problems),
            notes=notes,
            chain=first.chain,
            problems=tuple(problems),
            heads=heads,  # the chains walked whole: safe to anchor even now
            pending=waiting.count,
            oldest_pending=waiting.oldest,
        )
    head = heads.get(DEPLOYMENT_CHAIN, (0, GENESIS))
    return VerifyResult(
        True,
        checked,
        head=head,
        notes=notes,
        heads=heads,
        pending=waiting.count,
        oldest_pending=waiting.oldest,
    )


def rebuild_checkpoints(
    session: Session, anchor: Anchor | dict | None = None, batch: int = 5000
) -> list[tuple[uuid.UUID, int]]:
    """Rebuild every lost checkpoint at its chain's last entry, after checking that chain
    (and its anchor, when given) and that no practice is missing from the log; returns
    the (chain, head seq) rebuilt. ChainBroken when no checkpoint is missing or a check
    fails. The caller records the repairs and commits."""
    anchors = _anchors(anchor)
    present = set(session.scalars(sa.select(AuditCheckpoint.chain_id)))
    practice_ids = session.scalars(sa.select(PRACTICES.c.id)).all()
    # A chain whose first entries still wait gets its checkpoint from its first sealing.
    waiting = waiting_entries(session)
    begun = _last(session, DEPLOYMENT_CHAIN) is not None or DEPLOYMENT_CHAIN in anchors
    lost = [c for c in chains_of(session) if c not in present]
    if not begun and DEPLOYMENT_CHAIN in lost:
        lost.remove(DEPLOYMENT_CHAIN)  # never began: its first entry creates the checkpoint
    lost += [
        p
        for p in practice_ids
        if p not in present and p not in lost and (p not in waiting.chains or _last(session, p))
    ]
    lost += [c for c in anchors if c not in present and c not in lost]
    if not lost:
        if not begun and not practice_ids:
            raise ChainBroken("the log is empty: its first entry creates the checkpoint", None)
        raise ChainBroken("the checkpoint is present: there is nothing to rebuild", None)
    key = _key("chain")
    walks = {}
    for chain in chains_of(session):
        walk = walks[chain] = _Walk(chain=chain, anchor=anchors.get(chain))
        if chain in present:
            continue  # intact or not, `verify` reports it; only lost ones are rebuilt here
        last = _last(session, chain)
        if last is not None:
            try:
                _walk_to(session, walk, last, batch, key)
            except ChainBroken as broken:
                raise ChainBroken(
                    f"{chain_name(chain)}: {broken.problem}", broken.bad_seq
                ) from None
        _check_reaches(walk)
    deployment = walks[DEPLOYMENT_CHAIN]
    if DEPLOYMENT_CHAIN in present:
        # Its entries are vouched for by its checkpoint: read which practices it names.
        deployment.practices.update(
            session.scalars(
                sa.select(AuditEntry.object_id).where(
                    AuditEntry.chain_id == DEPLOYMENT_CHAIN, AuditEntry.object_type == "practice"
                )
            )
        )
        deployment.checked = 1
    deployment.practices.update(waiting.opened)  # creations still waiting to be sealed
    _check_practices(session, deployment, practice_ids, set(practice_ids))
    rebuilt = []
    for chain in lost:
        walk = walks.get(chain) or _Walk(chain=chain)
        insert_checkpoint(session.connection(), walk.last_seq, walk.prev_hash, chain)
        rebuilt.append((chain, walk.last_seq))
    return rebuilt
