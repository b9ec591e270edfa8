"""Sealing pending audit entries into their chains (AUDIT_SEALING "deferred").

With deferred sealing an audited request only inserts its entries into `audit_pending`
and commits: no chain lock, no head read, nothing that makes two requests of one
practice wait for each other. The sealer then takes each chain whose entries wait, in
its own short transaction: it locks the chain's checkpoint row (skipping a chain another
sealer holds), reads the waiting entries in the order they were recorded, checks each
one's HMAC, appends them to the chain exactly as an inline commit would (same hashes,
same signed checkpoint), and deletes them from `audit_pending`. Certificate Transparency
logs sequence their entries the same way.

Every app process with deferred sealing runs one sealer thread, started by its first
request (after gunicorn forks), which seals every AUDIT_SEAL_SECONDS; several processes
and instances share the work through the row locks. `flask audit seal` seals at once.
An entry whose HMAC does not match (edited while it waited), or that was sealed before
(a copy put back: every sealed entry keeps its pending id, unique), is left where it
is, never sealed, and `flask audit verify` names it.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from practice.audit import service
from practice.audit.models import AuditEntry, AuditPending
from practice.audit.service import chain_name
from practice.extensions import db

log = logging.getLogger(__name__)

BATCH = 1000  # entries sealed per chain per transaction

_WAITING_CHAINS = sa.select(AuditPending.chain_id).distinct()
_PENDING = AuditPending.__table__
_WAITING = (
    sa.select(*_PENDING.c)
    .where(_PENDING.c.chain_id == sa.bindparam("chain"))
    .order_by(_PENDING.c.occurred_at, _PENDING.c.id)
    .limit(sa.bindparam("limit"))
)
_SEALED = sa.select(AuditEntry.pending_id).where(
    AuditEntry.pending_id.in_(sa.bindparam("ids", expanding=True))
)
_DONE = sa.delete(AuditPending).where(AuditPending.id.in_(sa.bindparam("ids", expanding=True)))


@dataclass
class Sealed:
    sealed: int = 0  # entries appended to their chains
    refused: int = 0  # edited (HMAC) or already sealed (a copy): left, never sealed
    busy: int = 0  # chains skipped because another sealer held them
    blocked: int = 0  # chains whose checkpoint is missing (`flask audit repair-checkpoint`)


def seal(bind: sa.Engine | sa.Connection | None = None, batch: int = BATCH) -> Sealed:
    """Seal every waiting entry of every chain no other sealer holds (app context).

    `bind`: the engine (default), each chain's batch in a transaction of its own; or a
    connection already in a transaction, each batch in a savepoint of it.
    """
    bind = bind or db.engine
    result = Sealed()
    with _transaction(bind) as connection:
        chains = sorted(connection.execute(_WAITING_CHAINS).scalars())
    for chain in chains:
        while True:
            try:
                with _transaction(bind) as connection:
                    sealed, refused, more = _seal_chain(connection, chain, batch)
            except service.CheckpointMissing:
                # Its entries keep waiting (and requests keep working) until an operator
                # repairs the checkpoint; the other chains are sealed as usual.
                log.error("audit: %s has no checkpoint; its entries wait", chain_name(chain))
                result.blocked += 1
                break
            if sealed is None:
                result.busy += 1
                break
            result.sealed += sealed
            result.refused += refused
            if not more:
                break
    if result.refused:
        log.warning("audit: %d pending entries fail their HMAC and stay unsealed", result.refused)
    return result


@contextmanager
def _transaction(bind: sa.Engine | sa.Connection) -> Iterator[sa.Connection]:
    if isinstance(bind, sa.Connection):
        with bind.begin_nested():
            yield bind
        return
    with bind.begin() as connection:
        yield connection


def _seal_chain(connection: sa.Connection, chain: uuid.UUID, batch: int):
    """Seal up to `batch` waiting entries of `chain`: (sealed, refused, more waiting), or
    (None, 0, False) when another sealer holds the chain."""
    head = service._lock_head(connection, chain, skip_locked=True)
    if head is None:
        return None, 0, False
    seq, prev, other_key = head
    rows = connection.execute(_WAITING, {"chain": chain, "limit": batch}).all()
    key = service._key("pending")
    good = [row for row in rows if hmac.compare_digest(row.mac, service.pending_mac(row, key))]
    # A copy of a row sealed before (put back by someone with database access) is refused.
    sealed = set(connection.execute(_SEALED, {"ids": [row.id for row in good]}).scalars())
    good = [row for row in good if row.id not in sealed]
    # A refused entry stays in the table; the batch still moves on past it.
    more = len(rows) == batch
    if not good:
        return 0, len(rows), False
    entries, head = service.chained(chain, seq, prev, other_key, good, service._key("chain"))
    connection.execute(service._APPEND, entries)
    connection.execute(_DONE, {"ids": [row.id for row in good]})
    connection.execute(service._MOVE_HEAD, head)
    return len(good), len(rows) - len(good), more and len(good) > 0


class _Thread:
    """The process's sealer thread; `ensure` starts it in a process that has none."""

    def __init__(self, app: Flask):
        self.app = app
        self.pid: int | None = None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def ensure(self) -> None:
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.stopped.clear()
            self.thread = threading.Thread(target=self.run, name="audit-sealer", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        """End the thread after its current round (tests; a process exit ends it anyway)."""
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def run(self) -> None:
        interval = self.app.config["AUDIT_SEAL_SECONDS"]
        while not self.stopped.wait(interval):
            with self.app.app_context():
                try:
                    seal()
                except Exception:  # the next round tries again; entries keep waiting
                    log.exception("audit: sealing failed; pending entries wait for the next round")
                finally:
                    db.session.remove()


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
