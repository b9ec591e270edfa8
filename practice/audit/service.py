"""Recording audit events and writing them onto the hash chain.

Every domain calls `record(...)`. Events are held on the database session and written
when it commits: the session is flushed first (so every domain lock is already held),
then the chain lock is taken last, the head is read and the events are appended. The
chain therefore has no gaps or forks, and the chain lock cannot take part in a deadlock.

Rolled-back work leaves no success events behind, but refusals and failures survive:
whenever a session's outermost transaction ends without committing, only the non-success
events stay queued, and the request boundary commits them (`keep_refusals_only`).

Each entry's hash is an HMAC-SHA-256 over the previous hash and the entry's fields, keyed
from PRACTICE_AUDIT_KEY (or, when unset, SECRET_KEY): someone who can write to the
database but does not hold the key cannot recompute the chain after an edit, so
verification names the first entry touched. The head is additionally signed in
`audit_checkpoint`, which catches a truncated tail.

There is one chain per practice and one for the deployment (events about no practice,
and everything written before revision 0013); each has its own checkpoint row, which is
its lock. Practices therefore never wait for each other: only a practice's own audited
commits queue behind one another, for the last two round trips of each (ARCHITECTURE.md,
"The audit log").
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from practice import actor as actors
from practice.actor import Actor
from practice.audit.models import AuditCheckpoint, AuditEntry, AuditPending
from practice.database import driver_connection, driver_sql, pipelined, utcnow

PENDING = "audit_pending"
GENESIS = "0" * 64
OUTCOMES = ("success", "failure", "denied", "error")
REPAIR_ACTION = "audit.checkpoint_repair"  # `flask audit repair-checkpoint` rebuilt the head
KEY_CHANGE_ACTION = "audit.chain_key_change"  # later entries are chained with another key
CHAIN_OPEN_ACTION = "audit.chain_open"  # on the deployment chain: a practice's chain begins
SPLIT_ACTION = "audit.chain_split"  # migration 0013: later entries go to per-practice chains
# Written by the sealer itself, in place of a queued entry it could not seal (see
# practice/audit/sealer.py); verify reports each as a problem of its chain.
REFUSED_ACTION = "audit.pending_refused"  # edited, or a copy of an entry already sealed
OTHER_KEY_ACTION = "audit.pending_other_key"  # queued under another chain key
LOST_ACTION = "audit.pending_lost"  # committed by this app, gone before it was sealed
QUEUED = "audit_queued"  # session.info: (chain, pending id) of entries this commit queues
DEPLOYMENT_CHAIN = uuid.UUID(int=0)  # the chain of events about no practice

# Audit columns hold identifiers only. These shapes keep free text (and so clinical
# text) out: dotted lowercase verbs, lowercase nouns, and UUIDs or short key-like ids.
ACTION_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
OBJECT_TYPE_RE = re.compile(r"[a-z][a-z0-9_]*")
OBJECT_ID_RE = re.compile(r"[A-Za-z0-9_-]+")


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


def _as_uuid(value) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _object_id(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, uuid.UUID | int):
        return str(value)
    text = str(value)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    if len(text) > 64 or not OBJECT_ID_RE.fullmatch(text):
        raise ValueError("audit object_id must be a UUID or a short key-like id")
    return text


def _check_names(action: str, object_type: str | None, outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if len(action) > 64 or not ACTION_RE.fullmatch(action):
        raise ValueError("audit action must look like 'domain.verb'")
    if object_type is not None and (
        len(object_type) > 32 or not OBJECT_TYPE_RE.fullmatch(object_type)
    ):
        raise ValueError("audit object_type must be a short lowercase name")


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

    `actor`: an Actor, or a User acting from where the session's bound actor acts;
    defaults to the actor the boundary bound to the session (practice/actor.py). Only
    identifiers are accepted (ValueError otherwise), so clinical text cannot reach the
    log through any argument.
    """
    _check_names(action, object_type, outcome)
    origin = actors.bound(session)
    if actor is None:
        actor = origin
    if isinstance(actor, Actor):
        origin, actor = actor, actor.user
    actor_id = _as_uuid(getattr(actor, "id", None))
    if practice_id is None and actor is not None:
        practice_id = getattr(actor, "practice_id", None)
    address = origin.address if origin is not None else None
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        # Begin now, so a rollback before any SQL still ends a transaction and the
        # rolled-back successes are dropped (see `_after_transaction_end`).
        session.begin()
    session.info.setdefault(PENDING, []).append(
        Event(
            action=action,
            outcome=outcome,
            practice_id=_as_uuid(practice_id),
            actor_id=actor_id,
            object_type=object_type,
            object_id=_object_id(object_id),
            address=address[:64] if address else None,
            occurred_at=utcnow(),
        )
    )


def keep_refusals_only(session: Session) -> bool:
    """After a rollback: drop queued successes, keep refusals; True if any remain."""
    pending = [e for e in session.info.get(PENDING, []) if e.outcome != "success"]
    session.info[PENDING] = pending
    return bool(pending)


# Derived once per configured secret: every audited commit needs three keys and the
# fingerprint. (secret, label) -> key; key -> fingerprint.
_KEYS: dict[tuple[str, str], bytes] = {}
_FINGERPRINTS: dict[bytes, str] = {}


def _key(label: str) -> bytes:
    """The HMAC key for `label`: from PRACTICE_AUDIT_KEY when set, else from SECRET_KEY."""
    config = current_app.config
    secret = config.get("PRACTICE_AUDIT_KEY") or config["SECRET_KEY"]
    key = _KEYS.get((secret, label))
    if key is None:
        message = f"practice audit {label}".encode()
        key = _KEYS[(secret, label)] = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return key


def entry_hash(prev_hash: str, fields: list, key: bytes | None = None) -> str:
    """HMAC-SHA-256 over the previous hash and this entry's fields, canonically encoded."""
    body = json.dumps(fields, separators=(",", ":"))
    return hmac.digest(key or _key("chain"), (prev_hash + body).encode(), "sha256").hex()


def hashed_fields(entry) -> list:
    """The fields an entry's hash covers, in a fixed order (an AuditEntry or a row); the
    pending id of a deferred entry last (entries sealed inline have none, and hash as
    they did before deferred sealing existed)."""
    fields = [entry.seq, *_described(entry)]
    pending_id = getattr(entry, "pending_id", None)
    if pending_id is not None:
        fields.append(str(pending_id))
    return fields


def _described(entry) -> list:
    """What an entry says happened (every hashed field but its place in the chain)."""
    return [
        entry.occurred_at.astimezone(UTC).isoformat(),
        str(entry.practice_id) if entry.practice_id else None,
        str(entry.actor_id) if entry.actor_id else None,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.address,
        entry.outcome,
    ]


def key_fingerprint() -> str:
    """Names the configured chain key without revealing it (an HMAC of a fixed label,
    like every entry hash): a log written with another key shows another fingerprint."""
    key = _key("fingerprint")
    fingerprint = _FINGERPRINTS.get(key)
    if fingerprint is None:
        digest = hmac.new(key, b"audit-key-fingerprint", hashlib.sha256).hexdigest()
        fingerprint = _FINGERPRINTS[key] = digest[:32]
    return fingerprint


class CheckpointMissing(RuntimeError):
    """Entries exist but the checkpoint row is gone: nothing can be appended until an
    operator rebuilds it (`flask audit repair-checkpoint`)."""


def chain_of(practice_id: uuid.UUID | None) -> uuid.UUID:
    """The chain an entry about `practice_id` goes on."""
    return practice_id if practice_id is not None else DEPLOYMENT_CHAIN


def chain_name(chain: uuid.UUID) -> str:
    """How verification names a chain."""
    return "deployment chain" if chain == DEPLOYMENT_CHAIN else f"practice {chain}"


def checkpoint_signature(seq: int, head_hash: str, chain: uuid.UUID = DEPLOYMENT_CHAIN) -> str:
    """The HMAC that vouches for a chain's head (so truncation is detected). It names the
    chain, so one chain's checkpoint cannot stand in for another's; the deployment chain
    keeps the message the single chain of before revision 0013 was signed with."""
    prefix = "audit-head" if chain == DEPLOYMENT_CHAIN else f"audit-head:{chain}"
    message = f"{prefix}:{seq}:{head_hash}".encode()
    return hmac.new(_key("checkpoint"), message, hashlib.sha256).hexdigest()


# The chain's statements, built once (they run on every commit that records an event).
_HEAD = (
    sa.select(
        AuditCheckpoint.head_seq,
        AuditCheckpoint.head_hash,
        AuditCheckpoint.key_fingerprint,
        AuditCheckpoint.signature,
    )
    .where(AuditCheckpoint.chain_id == sa.bindparam("chain"))
    .with_for_update()
)
_APPEND = sa.insert(AuditEntry.__table__)
_MOVE_HEAD = (
    sa.update(AuditCheckpoint.__table__)
    .where(AuditCheckpoint.__table__.c.chain_id == sa.bindparam("chain"))
    .values(
        head_seq=sa.bindparam("seq"),
        head_hash=sa.bindparam("hash"),
        signature=sa.bindparam("signature"),
        key_fingerprint=sa.bindparam("fingerprint"),
    )
)
_HEAD_UNLESS_LOCKED = _HEAD.with_for_update(skip_locked=True)
_WAIT = sa.insert(AuditPending.__table__)
_COMMIT = "COMMIT"
_HAS_CHECKPOINT = sa.select(AuditCheckpoint.chain_id).where(
    AuditCheckpoint.chain_id == sa.bindparam("chain")
)
_ANY_ENTRY = sa.select(AuditEntry.seq).where(AuditEntry.chain_id == sa.bindparam("chain")).limit(1)


def _lock_head(connection: sa.Connection, chain: uuid.UUID, *, skip_locked: bool = False):
    """Lock one chain and read its head, in one round trip: the checkpoint row is the lock.
    Returns (seq, head hash, the other key's fingerprint or None); with `skip_locked`,
    None instead of waiting when another transaction holds the chain.

    On PostgreSQL `FOR UPDATE` holds the row until commit; on SQLite every transaction
    already holds the write lock (BEGIN IMMEDIATE) and the clause is left out.
    """
    head = _read_head(connection, chain, skip_locked=skip_locked)
    busy = skip_locked and head is None
    if busy and connection.execute(_HAS_CHECKPOINT, {"chain": chain}).first() is not None:
        return None  # another transaction holds the chain
    if head is None and connection.execute(_ANY_ENTRY, {"chain": chain}).first() is not None:
        # Entries without a checkpoint: unless another sealer's first sealing of this
        # chain committed them, and its checkpoint, just now.
        head = _read_head(connection, chain)
        if head is None:
            raise CheckpointMissing(
                f"the audit checkpoint of the {chain_name(chain)} is missing while entries "
                "exist; run `flask audit verify`, then `flask audit repair-checkpoint`"
            )
    if head is None:  # the chain's first entry: create the row, then lock it like any other
        insert_checkpoint(connection, 0, GENESIS, chain)
        head = _read_head(connection, chain)
    seq, head_hash, fingerprint, signature = head
    return seq, head_hash, _other_key(seq, head_hash, fingerprint, signature, chain)


def _other_key(
    seq: int, head_hash: str, fingerprint: str | None, signature: str, chain: uuid.UUID
) -> str | None:
    """The fingerprint of the other chain key the log so far was written with, if it was:
    the checkpoint names another key and its signature does not verify with ours (so a
    fingerprint edited alone changes nothing)."""
    if fingerprint is None or fingerprint == key_fingerprint():
        return None
    if same_digest(signature, checkpoint_signature(seq, head_hash, chain)):
        return None
    return fingerprint


def insert_checkpoint(
    connection: sa.Connection, seq: int, head_hash: str, chain: uuid.UUID = DEPLOYMENT_CHAIN
) -> None:
    """Create the checkpoint row of `chain` for the head (seq, head_hash), unless one exists."""
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    connection.execute(
        insert(AuditCheckpoint)
        .values(
            chain_id=chain,
            head_seq=seq,
            head_hash=head_hash,
            signature=checkpoint_signature(seq, head_hash, chain),
            key_fingerprint=key_fingerprint(),
        )
        .on_conflict_do_nothing()
    )


# Every commit that records an event runs the chain's statements, and a note write is
# measured against a bare insert (bench/notes_write.py). On PostgreSQL they therefore go
# straight to psycopg: the entries and the checkpoint move share one pipelined round
# trip, and neither pays SQLAlchemy's per-statement cost. The values are UUIDs, aware
# UTC datetimes, ints and strings, which psycopg adapts as SQLAlchemy would.


def _read_head(connection: sa.Connection, chain: uuid.UUID, *, skip_locked: bool = False):
    statement = _HEAD_UNLESS_LOCKED if skip_locked else _HEAD
    if not pipelined(connection):
        return connection.execute(statement, {"chain": chain}).first()
    with driver_connection(connection) as driver, driver.cursor() as cursor:
        cursor.execute(driver_sql(connection, statement), {"chain": chain})
        return cursor.fetchone()


def _append(connection: sa.Connection, rows: list[dict], head: dict | None, commit: bool) -> None:
    """Insert the entries and move the checkpoint; with `commit`, COMMIT in the same
    round trip (PostgreSQL), so the chain lock is released one round trip sooner. With
    `head` None, `rows` are pending entries (deferred sealing): no checkpoint to move."""
    table = _APPEND if head is not None else _WAIT
    if not pipelined(connection):
        connection.execute(table, rows)
        if head is not None:
            connection.execute(_MOVE_HEAD, head)
        return
    append = driver_sql(connection, table, tuple(rows[0]))
    with driver_connection(connection) as driver, driver.pipeline(), driver.cursor() as cursor:
        cursor.executemany(append, rows)
        if head is not None:
            cursor.execute(driver_sql(connection, _MOVE_HEAD, tuple(head)), head)
        if commit:
            # The driver's own commit() then finds no transaction open and sends nothing;
            # SQLAlchemy's commit completes as usual. Nothing is written after this hook:
            # it flushed the session first and is the only before_commit listener.
            cursor.execute(_COMMIT)


def _key_change(previous: str, first: Event) -> Event:
    return Event(
        action=KEY_CHANGE_ACTION,
        outcome="success",
        practice_id=first.practice_id,
        actor_id=None,
        object_type="audit_key",
        object_id=previous,
        address=None,
        occurred_at=first.occurred_at,
    )


def write_pending(session: Session, *, committing: bool = False) -> None:
    """Append queued events to their chains and move the signed checkpoints.

    Plain Core statements on the session's connection: entries are never read back
    through the session, and the unit of work would cost more than the rest together.
    `committing` (the session's outermost commit is under way): on PostgreSQL the
    transaction's COMMIT goes with the last chain's append, in one round trip.
    """
    pending: list[Event] = session.info.pop(PENDING, [])
    if not pending:
        return
    # Take every domain row lock first; the chain locks must be the last ones taken.
    session.flush()
    connection = session.connection()
    key = _key("chain")
    chains: dict[uuid.UUID, list[Event]] = {}
    for item in pending:
        chains.setdefault(chain_of(item.practice_id), []).append(item)
        if item.action == "practice.create" and item.practice_id is not None:
            # The deployment chain records every practice's birth, so a cut-back
            # deployment chain shows as a practice the log says nothing about.
            opened = replace(item, action=CHAIN_OPEN_ACTION, practice_id=None)
            chains.setdefault(DEPLOYMENT_CHAIN, []).append(opened)
    if deferred(connection):
        _wait(session, connection, chains, committing)
        return
    # Several chains (rare: an operator command touching two practices) are locked in
    # one fixed order, so two such commits cannot deadlock.
    order = sorted(chains)
    for chain in order:
        _append_to(connection, chain, chains[chain], key, committing and chain == order[-1])


def deferred(connection: sa.Connection) -> bool:
    """True when audited commits leave their entries to the sealer (AUDIT_SEALING
    "deferred", PostgreSQL only: on SQLite every transaction holds the database's one
    write lock anyway, so sealing inline costs no extra waiting)."""
    return (
        current_app.config.get("AUDIT_SEALING") == "deferred"
        and connection.dialect.name == "postgresql"
    )


def pending_mac(row, key: bytes | None = None) -> str:
    """HMAC over a pending entry's id, chain and fields: the sealer refuses, and verify
    names, a pending entry edited while it waited."""
    fields = [str(row.id), str(row.chain_id), *_described(row)]
    body = json.dumps(fields, separators=(",", ":")).encode()
    return hmac.digest(key or _key("pending"), body, "sha256").hex()


def same_digest(stored, expected: str) -> bool:
    """Constant-time comparison of a stored hex digest, whatever was stored (a non-ASCII
    or non-text value someone wrote into the column compares unequal, never raises)."""
    if not isinstance(stored, str):
        return False
    return hmac.compare_digest(stored.encode("utf-8", "replace"), expected.encode())


_ORDER = itertools.count()
_ORDER_LOCK = threading.Lock()


def ordered_id() -> uuid.UUID:
    """A pending entry's id: the clock in nanoseconds, then this process's counter, then
    random bits, so ids sort in the order a process queued them (two events of one
    request recorded within the same microsecond keep their order) and never collide."""
    with _ORDER_LOCK:
        count = next(_ORDER) & 0xFFFF
    return uuid.UUID(int=(time.time_ns() << 64) | (count << 48) | secrets.randbits(48))


def _wait(
    session: Session,
    connection: sa.Connection,
    chains: dict[uuid.UUID, list[Event]],
    commit: bool,
) -> None:
    """Insert the events as pending entries (no chain lock, no head read); with
    `commit`, COMMIT in the same round trip."""
    key, fingerprint = _key("pending"), key_fingerprint()
    rows = []
    for chain, items in chains.items():
        for item in items:
            row = {"id": ordered_id(), "chain_id": chain, **_fields(item)}
            row["mac"] = pending_mac(SimpleNamespace(**row), key)
            row["key_fingerprint"] = fingerprint
            rows.append(row)
    # Which entries this commit queued: the sealer thread checks that each reaches its
    # chain (an entry deleted from the queue is reported on the chain, see sealer.py).
    session.info.setdefault(QUEUED, []).extend((row["chain_id"], row["id"]) for row in rows)
    _append(connection, rows, None, commit)


def _fields(item) -> dict:
    return {
        "occurred_at": item.occurred_at,
        "practice_id": item.practice_id,
        "actor_id": item.actor_id,
        "action": item.action,
        "object_type": item.object_type,
        "object_id": item.object_id,
        "address": item.address,
        "outcome": item.outcome,
    }


def _append_to(
    connection: sa.Connection, chain: uuid.UUID, pending: list, key, commit: bool
) -> None:
    seq, prev, other_key = _lock_head(connection, chain)
    _append(connection, *chained(chain, seq, prev, other_key, pending, key), commit)


def chained(
    chain: uuid.UUID, seq: int, prev: str, other_key: str | None, pending: list, key
) -> tuple[list[dict], dict]:
    """The entries `pending` (events, or pending rows being sealed) become after the
    head (seq, prev), and the chain's new signed head."""
    if other_key is not None:
        # The log so far was written with another chain key (a restore onto a server
        # with its own keys): say so in the chain, so `verify` can tell the entries it
        # cannot check from edited ones.
        pending = [_key_change(other_key, pending[0]), *pending]
    rows = []
    for item in pending:
        seq += 1
        row = {"chain_id": chain, "seq": seq, **_fields(item), "prev_hash": prev}
        row["pending_id"] = getattr(item, "id", None)  # a pending row's; an event has none
        prev = row["entry_hash"] = entry_hash(prev, hashed_fields(SimpleNamespace(**row)), key)
        rows.append(row)
    head = {
        "chain": chain,
        "seq": seq,
        "hash": prev,
        "signature": checkpoint_signature(seq, prev, chain),
    }
    head["fingerprint"] = key_fingerprint()
    return rows, head


def _before_commit(session: Session) -> None:
    # SQLAlchemy also calls this when a savepoint is released. The chain is written at
    # the outermost commit only, so its lock stays the last one a transaction takes.
    if session.in_nested_transaction():
        return
    if session.info.get(PENDING):
        session.connection()  # the chain's connection: `_commits_alone` looks at it
    write_pending(session, committing=_commits_alone(session))


def _commits_alone(session: Session) -> bool:
    """True when the session's commit is a plain COMMIT of one connection's transaction,
    which the chain's last round trip may then carry (not two-phase, one bind, not a
    transaction the session joined)."""
    if session.twophase or session.get_transaction() is None:
        return False
    # Every table lives on the one engine (no SQLALCHEMY_BINDS), so the session holds a
    # single connection.
    if len(current_app.extensions["sqlalchemy"].engines) != 1:
        return False
    # Not when the session joined a transaction someone else began, on a connection it
    # was handed (the test suite's sessions, each inside a savepoint): COMMIT would end
    # that transaction.
    if isinstance(session.get_bind(), sa.Connection):
        return False
    # The app registers no other before_commit listener (tests/audit/test_chain.py
    # checks the source), so nothing writes after this hook.
    return not session.connection().in_nested_transaction()


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended; after a commit nothing is pending, so anything
    # left was rolled back: its successes never happened, its refusals did.
    if transaction.parent is None and session.info.get(PENDING):
        keep_refusals_only(session)
    if transaction.parent is None:
        session.info.pop(QUEUED, None)  # rolled back: nothing was queued after all


def _after_commit(session: Session) -> None:
    # The entries this commit queued are now durable: hand them to the sealer's check.
    queued = session.info.pop(QUEUED, None)
    # A session inside someone else's transaction (a savepoint of it) has not made its
    # entries durable: that transaction may still roll back.
    if queued and not isinstance(session.get_bind(), sa.Connection):
        # Imported here: the sealer imports this module (an import cycle otherwise).
        from practice.audit import sealer

        sealer.watch(queued)


def init_session_events() -> None:
    """Write queued audit events whenever a session commits (idempotent)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
    if not event.contains(Session, "after_transaction_end", _after_transaction_end):
        event.listen(Session, "after_transaction_end", _after_transaction_end)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
