"""Sealing pending audit entries into their chains (AUDIT_SEALING "deferred").

With deferred sealing an audited request only inserts its entries into `audit_pending`
and commits: no chain lock, no head read, nothing that makes two requests of one
practice wait for each other. The sealer then takes each chain whose entries wait, in
its own short transaction: it locks the chain's checkpoint row (skipping a chain another
sealer holds), reads the waiting entries in the order they were queued, checks each,
appends them to the chain exactly as an inline commit would (same hashes, same signed
checkpoint), and deletes them from `audit_pending`. Certificate Transparency logs
sequence their entries the same way.

An entry the sealer cannot vouch for is never sealed, and never left to block the queue:
in its place the chain gets an entry saying so, which `flask audit verify` reports as a
problem of that chain until the end of time.

- `audit.pending_refused`: its HMAC does not match (edited while it waited), or a sealed
  entry already carries its id (a copy put back);
- `audit.pending_other_key`: it was queued under another chain key (a restore onto a
  server with its own keys): unverifiable, reported as such (`verify` exit 3);
- `audit.pending_lost`: this app process committed it, and a few seconds later it was
  neither sealed nor waiting: someone deleted it from the queue (each process keeps the
  ids it queued for a while, `watch`, outside the database's reach).

Every app process with deferred sealing runs one sealer thread, started by its first
request (after gunicorn forks), which seals every AUDIT_SEAL_SECONDS; several processes
and instances share the work through the row locks. `flask audit seal` seals at once.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from practice.audit import service
from practice.audit.models import AuditEntry, AuditPending
from practice.audit.service import chain_name
from practice.audit.verify import PRACTICES, foreign_fingerprints, waiting_query
from practice.database import utcnow
from practice.extensions import db

log = logging.getLogger(__name__)

BATCH = 1000  # entries sealed per chain per transaction
# A queued id not sealed and not waiting after this long was deleted from the queue.
LOST_AFTER_SECONDS = 10.0

_PENDING = AuditPending.__table__
_WAITING_CHAINS = sa.select(_PENDING.c.chain_id).distinct()
_DONE = sa.delete(AuditPending).where(AuditPending.id.in_(sa.bindparam("ids", expanding=True)))
# Where watched ids are now, in one statement (one snapshot: the sealer moves an entry
# from the queue to its chain in one transaction, so it is seen in one or the other).
_SEEN = sa.union_all(
    sa.select(sa.cast(AuditEntry.pending_id, sa.String).label("id"), sa.literal("sealed")).where(
        AuditEntry.pending_id.in_(sa.bindparam("ids", expanding=True))
    ),
    # Refused ones: the sealer recorded them on their chain already.
    sa.select(AuditEntry.object_id.label("id"), sa.literal("sealed")).where(
        AuditEntry.object_type == "audit_pending",
        AuditEntry.object_id.in_(sa.bindparam("names", expanding=True)),
    ),
    sa.select(sa.cast(_PENDING.c.id, sa.String).label("id"), sa.literal("waiting")).where(
        _PENDING.c.id.in_(sa.bindparam("ids", expanding=True))
    ),
)


@dataclass
class Sealed:
    sealed: int = 0  # entries appended to their chains
    refused: int = 0  # not sealed: recorded on the chain as refused or of another key
    lost: int = 0  # queued by this process, then gone: recorded on the chain as lost
    busy: int = 0  # chains skipped because another sealer held them
    failed: int = 0  # chains that could not be sealed this round (logged; retried)


# (chain, pending id, when queued) of the entries this process committed, oldest first;
# filled by the session's after_commit hook, only while this process runs a sealer.
_WATCHED: deque = deque()
_WATCHING = threading.Event()


def watch(queued: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Remember entries this process just committed to the queue (see LOST_AFTER_SECONDS)."""
    if _WATCHING.is_set():
        now = time.monotonic()
        _WATCHED.extend((chain, pending_id, now) for chain, pending_id in queued)


def _lost(bind) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The watched entries old enough to have been sealed, that are neither sealed nor
    waiting, by chain. Watched entries still waiting stay watched; if the check fails,
    every one stays watched (they leave the list only once it succeeded)."""
    cutoff = time.monotonic() - LOST_AFTER_SECONDS
    due = list(itertools.takewhile(lambda item: item[2] < cutoff, list(_WATCHED)))
    if not due:
        return {}
    ids = [pending_id for _chain, pending_id, _at in due]
    with _transaction(bind) as connection:
        found = dict(connection.execute(_SEEN, {"ids": ids, "names": [str(i) for i in ids]}).all())
    for _ in due:  # only the sealer thread takes from the left; others append on the right
        _WATCHED.popleft()
    lost: dict[uuid.UUID, list[uuid.UUID]] = {}
    for chain, pending_id, queued_at in due:
        state = found.get(str(pending_id))
        if state == "waiting":
            _WATCHED.append((chain, pending_id, queued_at))  # keep watching
        elif state is None:
            lost.setdefault(chain, []).append(pending_id)
    return lost


def seal(bind: sa.Engine | sa.Connection | None = None, batch: int = BATCH) -> Sealed:
    """Seal every waiting entry of every chain no other sealer holds (app context).

    `bind`: the engine (default), each chain's batch in a transaction of its own; or a
    connection already in a transaction, each batch in a savepoint of it. One chain's
    failure is logged and leaves the other chains to be sealed.
    """
    bind = bind or db.engine
    result = Sealed()
    lost = _lost(bind) if _WATCHING.is_set() else {}
    try:
        _seal_all(bind, batch, lost, result)
    finally:
        for chain, gone in lost.items():  # not recorded this round: the next one will
            _rewatch(chain, gone)
    if result.refused or result.lost:
        log.error(
            "audit: %d queued entries refused and %d lost before sealing; each is recorded on "
            "its chain: run `flask audit verify`",
            result.refused,
            result.lost,
        )
    return result


def _seal_all(bind, batch: int, lost: dict, result: Sealed) -> None:
    """Seal chain by chain; a chain's lost ids leave `lost` only once they are recorded
    (what is left there is watched again by `seal`)."""
    with _transaction(bind) as connection:
        chains = set(connection.execute(_WAITING_CHAINS).scalars()) | set(lost)
        if not chains:
            return
        known = {service.DEPLOYMENT_CHAIN}
        known.update(
            connection.execute(
                sa.select(PRACTICES.c.id).where(PRACTICES.c.id.in_(chains))
            ).scalars()
        )
    for chain in sorted(chains - known):
        # Rows naming no practice were never queued by the app: one refusal for them all
        # on the deployment chain, and no chain (nor checkpoint) for something that is
        # not a practice.
        try:
            with _transaction(bind) as connection:
                result.refused += _refuse_unknown(connection, chain)
        except sa.exc.SQLAlchemyError as error:
            log.error("audit: refusing rows of an unknown chain failed (%s)", type(error).__name__)
            result.failed += 1
    for chain in sorted(chains & known):
        while True:
            gone = lost.get(chain, [])
            try:
                with _transaction(bind) as connection:
                    done = _seal_chain(connection, chain, batch, gone)
            except service.CheckpointMissing:
                # Its entries keep waiting (and requests keep working) until an operator
                # repairs the checkpoint; the other chains are sealed as usual.
                log.error("audit: %s has no checkpoint; its entries wait", chain_name(chain))
                result.failed += 1
                break
            except sa.exc.SQLAlchemyError as error:
                # Only the class: the statement's parameters name people and addresses.
                log.error("audit: sealing %s failed (%s)", chain_name(chain), type(error).__name__)
                result.failed += 1
                break
            if done is None:
                result.busy += 1
                break
            sealed, refused, more = done
            result.sealed += sealed
            result.refused += refused
            result.lost += len(lost.pop(chain, []))
            if not more:
                break


def _refuse_unknown(connection: sa.Connection, chain: uuid.UUID) -> int:
    head = service._lock_head(connection, service.DEPLOYMENT_CHAIN, skip_locked=True)
    if head is None:
        return 0  # the deployment chain is being sealed: next round
    rows = connection.execute(
        sa.delete(AuditPending).where(AuditPending.chain_id == chain).returning(AuditPending.id)
    ).all()
    if rows:
        alarm = _alarm(service.REFUSED_ACTION, service.DEPLOYMENT_CHAIN, chain, "audit_chain")
        _append(connection, service.DEPLOYMENT_CHAIN, head, [alarm])
    return len(rows)


def _append(connection: sa.Connection, chain: uuid.UUID, head: tuple, items: list) -> None:
    """Chain `items` after the locked `head`, as an inline commit appends its events."""
    seq, prev, other_key = head
    rows, moved = service.chained(chain, seq, prev, other_key, items, service._key("chain"))
    service._append(connection, rows, moved, commit=False)


def _rewatch(chain: uuid.UUID, gone: list[uuid.UUID]) -> None:
    # Reported on a later round, when the chain can be sealed again.
    _WATCHED.extendleft((chain, pending_id, 0.0) for pending_id in gone)


@contextmanager
def _transaction(bind: sa.Engine | sa.Connection) -> Iterator[sa.Connection]:
    if isinstance(bind, sa.Connection):
        with bind.begin_nested():
            yield bind
        return
    with bind.begin() as connection:
        if connection.dialect.name == "postgresql":
            # A sealer never waits long on a lock nor runs away (the next round retries).
            connection.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
            connection.execute(sa.text("SET LOCAL statement_timeout = '60s'"))
        yield connection


def _alarm(
    action: str, chain: uuid.UUID, about, object_type: str = "audit_pending"
) -> service.Event:
    """The entry the sealer writes in place of what it cannot seal: who, what and where
    come from nothing the queue says (it cannot be trusted), only its id (`about`)."""
    return service.Event(
        action=action,
        outcome="failure",
        practice_id=None if chain == service.DEPLOYMENT_CHAIN else chain,
        actor_id=None,
        object_type=object_type,
        object_id=str(about),
        address=None,
        occurred_at=utcnow(),
    )


def _seal_chain(connection: sa.Connection, chain: uuid.UUID, batch: int, lost: list):
    """Seal up to `batch` waiting entries of `chain`, and record `lost` ones: (sealed,
    refused, more waiting), or None when another sealer holds the chain."""
    waiting = waiting_query(connection).where(AuditPending.chain_id == sa.bindparam("chain"))
    waiting = waiting.limit(sa.bindparam("limit"))
    rows = connection.execute(waiting, {"chain": chain, "limit": batch}).all()
    if not rows and not lost:
        return 0, 0, False  # sealed meanwhile by another process: no checkpoint to create
    head = service._lock_head(connection, chain, skip_locked=True)
    if head is None:
        return None
    # Read again under the chain's lock: another sealer may have sealed some meanwhile.
    rows = connection.execute(waiting, {"chain": chain, "limit": batch}).all()
    key, foreign = service._key("pending"), None
    items: list = [_alarm(service.LOST_ACTION, chain, pending_id) for pending_id in lost]
    refused = 0
    for row in rows:
        genuine = row.sealed_as is None and row.occurred_at is not None
        if genuine and service.same_digest(row.mac, service.pending_mac(row, key)):
            items.append(row)
            continue
        refused += 1
        if genuine and foreign is None:  # read only when some entry fails its HMAC
            foreign = foreign_fingerprints(connection)
        other = genuine and row.key_fingerprint in foreign
        items.append(
            _alarm(service.OTHER_KEY_ACTION if other else service.REFUSED_ACTION, chain, row.id)
        )
    if not items:
        return 0, 0, False
    if rows:
        connection.execute(_DONE, {"ids": [row.id for row in rows]})
    _append(connection, chain, head, items)
    return len(rows) - refused, refused, len(rows) == batch


class _Thread:
    """The process's sealer thread; `ensure` starts it in a process that has none, or
    whose thread died."""

    def __init__(self, app: Flask):
        self.app = app
        self.pid: int | None = None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def ensure(self) -> None:
        if self.pid == os.getpid() and self.thread is not None and self.thread.is_alive():
            return
        with self.lock:
            if self.pid == os.getpid() and self.thread is not None and self.thread.is_alive():
                return
            if self.pid != os.getpid():
                _WATCHED.clear()  # a forked child watches only what it queues itself
            self.stopped.clear()
            thread = threading.Thread(target=self.run, name="audit-sealer", daemon=True)
            thread.start()
            self.thread, self.pid = thread, os.getpid()
            _WATCHING.set()

    def stop(self) -> None:
        """End the thread after its current round (tests; a process exit ends it anyway)."""
        self.stopped.set()
        _WATCHING.clear()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def run(self) -> None:
        interval = self.app.config["AUDIT_SEAL_SECONDS"]
        while not self.stopped.wait(interval):
            try:
                with self.app.app_context():
                    try:
                        seal()
                    finally:
                        db.session.remove()
            except Exception as error:  # the next round tries again; entries keep waiting
                log.error("audit: a sealing round failed (%s)", type(error).__name__)


def init_app(app: Flask) -> None:
    """Start a sealer thread in every process that serves requests with deferred sealing
    on PostgreSQL (started by the process's first request, so after gunicorn forks)."""
    if app.config.get("AUDIT_SEALING") != "deferred":
        return
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    sealer = _Thread(app)
    app.extensions["audit_sealer"] = sealer
    app.before_request(sealer.ensure)


def pending_chains() -> list[uuid.UUID]:
    """The chains with entries waiting (for the CLI and tests)."""
    return sorted(db.session.execute(_WAITING_CHAINS).scalars())
