"""`flask audit verify [--practice ID] [--anchor FILE]`, `flask audit repair-checkpoint`."""

from __future__ import annotations

import fcntl
import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from practice.audit import sealer
from practice.audit import service as audit
from practice.audit.models import AuditPending
from practice.audit.service import DEPLOYMENT_CHAIN, chain_name
from practice.audit.verify import Anchor, ChainBroken, rebuild_checkpoints, verify_chain
from practice.extensions import db
from practice.files import write_private

audit_cli = AppGroup("audit", help="The audit log.")


def _head(data) -> Anchor | None:
    seq = data.get("seq") if isinstance(data, dict) else None
    entry_hash = data.get("entry_hash") if isinstance(data, dict) else None
    if type(seq) is not int or seq < 0 or not isinstance(entry_hash, str):
        return None
    return Anchor(seq, entry_hash)


def read_anchor(path: Path) -> dict[uuid.UUID, Anchor] | None:
    """The heads in `path`, per chain; None when the file does not exist yet. A file
    written before revision 0013 holds one head: the single chain's, now the deployment
    chain's."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the anchor {path}: {exc}") from None
    bad = click.ClickException(f"the anchor {path} is not one this command wrote")
    if not isinstance(data, dict):
        raise bad
    if "chains" not in data:
        head = _head(data)
        if head is None:
            raise bad
        return {DEPLOYMENT_CHAIN: head}
    chains = data["chains"]
    if not isinstance(chains, dict):
        raise bad
    anchors = {}
    for name, value in chains.items():
        try:
            chain = uuid.UUID(name)
        except (TypeError, ValueError):
            raise bad from None
        head = _head(value)
        if head is None:
            raise bad
        anchors[chain] = head
    return anchors


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """One verification at a time per anchor (a lock file beside it)."""
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_anchor(path: Path, heads: dict[uuid.UUID, tuple[int, str]]) -> None:
    """Replace the anchor atomically and durably, readable by its owner only."""
    record = {
        "chains": {
            str(chain): {"seq": seq, "entry_hash": entry_hash}
            for chain, (seq, entry_hash) in sorted(heads.items())
        },
        "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_private(path, json.dumps(record) + "\n")


@audit_cli.command("verify")
@click.option(
    "--anchor",
    "anchor_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file outside the database's reach: the heads seen last time are checked, "
    "and afterwards the heads of every chain found intact are written there.",
)
@click.option(
    "--practice",
    "practice_id",
    type=click.UUID,
    help="Check this practice's chain only (the whole log when left out).",
)
def verify_command(anchor_path: Path | None, practice_id: uuid.UUID | None):
    """Check every hash chain and its signed head; exit 1 naming, per chain, the first
    bad entry."""
    if anchor_path is None:
        _, code = _verify(None, practice_id)
        sys.exit(code)
    with locked(anchor_path):
        anchors = read_anchor(anchor_path) or {}
        heads, code = _verify(anchors, practice_id)
        # Never backwards: each walk reached its anchor. A one-practice run keeps the rest,
        # and so does a failing run for the chains it could not walk whole; the chains it
        # did walk are pinned even then, so a broken chain elsewhere (or one waiting to
        # be sealed) does not leave the others unanchored.
        write_anchor(
            anchor_path, {**{c: (a.seq, a.entry_hash) for c, a in anchors.items()}, **heads}
        )
        deployment = heads.get(DEPLOYMENT_CHAIN)
        if deployment is not None:
            click.echo(
                f"anchored entry {deployment[0]} of the deployment chain and the heads of "
                f"{len(heads) - 1} practice chain(s) in {anchor_path}"
            )
        elif practice_id in heads:
            click.echo(f"anchored entry {heads[practice_id][0]} of practice {practice_id}")
    sys.exit(code)


WRONG_KEY_EXIT = 3  # not tampering: the configured chain key is not the one that wrote it
# Entries waiting longer than this mean no sealer runs, or someone holds it back: the
# log is intact as far as it goes, but not complete, so `verify` does not pass.
STALE_PENDING_SECONDS = 60
STALE_EXIT = 4


def _verify(anchors: dict | None, practice_id: uuid.UUID | None) -> tuple[dict, int]:
    """Verify and report; the heads of the chains walked whole, and the exit code."""
    result = verify_chain(db.session, anchor=anchors, practice=practice_id)
    code = 0
    if not result.ok:
        word = "UNVERIFIABLE" if result.wrong_key else "BROKEN"
        for problem in result.problems:
            click.echo(
                f"audit log {word}: {chain_name(problem.chain)}: {problem.problem}", err=True
            )
        code = WRONG_KEY_EXIT if result.wrong_key else 1
    else:
        click.echo(f"audit log intact: {result.checked} entries in {len(result.heads)} chain(s)")
    if result.pending:
        click.echo(
            f"  pending: {result.pending} entries wait to be sealed, the oldest recorded "
            f"{result.oldest_pending:%Y-%m-%d %H:%M:%S} UTC (not yet checked; sealed within "
            "seconds while the app runs, or now by `flask audit seal`)"
            if result.oldest_pending
            else f"  pending: {result.pending} entries wait to be sealed"
        )
    waited = _longest_wait(practice_id)
    if waited is not None and waited > STALE_PENDING_SECONDS:
        click.echo(
            f"audit log NOT SEALED: entries have waited {waited:.0f} s (more than "
            f"{STALE_PENDING_SECONDS} s): no app process is sealing, or sealing is blocked "
            "(see its log); run `flask audit seal`",
            err=True,
        )
        code = code or STALE_EXIT
    for note in result.notes:
        click.echo(f"  note: {note}")
    return result.heads, code


def _longest_wait(practice_id: uuid.UUID | None) -> float | None:
    """Seconds the longest-waiting entry still waiting now has waited, by the database's
    clock (read after the walk: entries sealed meanwhile do not count)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None  # SQLite seals inline: nothing waits
    waited = sa.func.now() - sa.func.min(AuditPending.queued_at)
    query = sa.select(sa.func.extract("epoch", waited))
    if practice_id is not None:
        query = query.where(AuditPending.chain_id == practice_id)
    seconds = db.session.scalar(query)
    return float(seconds) if seconds is not None else None


@audit_cli.command("seal")
def seal_command():
    """Seal the entries waiting in audit_pending into their chains now (deferred
    sealing: the app's sealer threads do this every AUDIT_SEAL_SECONDS while it runs)."""
    result = sealer.seal(db.session.get_bind())
    click.echo(f"sealed {result.sealed} pending audit entries")
    if result.busy:
        click.echo(f"{result.busy} chain(s) were being sealed by the app at the same time")
    if result.failed:
        click.echo(f"audit: {result.failed} chain(s) could not be sealed (see the log)", err=True)
    if result.refused:
        click.echo(
            f"audit: {result.refused} queued entries were edited, copied or written with "
            "another key; each is recorded on its chain as refused: run `flask audit verify`",
            err=True,
        )
    if result.refused or result.failed:
        sys.exit(1)


@audit_cli.command("repair-checkpoint")
@click.option(
    "--anchor",
    "anchor_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The anchor file `verify --anchor` keeps: the log must still reach it.",
)
def repair_checkpoint_command(anchor_path: Path | None):
    """Rebuild lost checkpoint rows at their chains' last entries, after checking those
    chains; audited.

    Without its checkpoint nothing can be appended to a chain (every audited write of
    that practice, or of the deployment, fails). The chain's hashes still vouch for every
    entry, but not for a cut tail: pass the anchor of your regular `verify --anchor` runs
    so a chain cut back behind it is refused.
    """
    anchors = read_anchor(anchor_path) if anchor_path is not None else None
    try:
        rebuilt = rebuild_checkpoints(db.session, anchors)
    except ChainBroken as broken:
        db.session.rollback()
        click.echo(f"audit: checkpoint not rebuilt: {broken.problem}", err=True)
        sys.exit(1)
    for chain, head in rebuilt:
        audit.record(
            db.session,
            audit.REPAIR_ACTION,
            object_type="audit_log",
            object_id=str(head),
            practice_id=None if chain == DEPLOYMENT_CHAIN else chain,
        )
    db.session.commit()
    sealer.seal(db.session.get_bind())  # deferred sealing: the repair entry waits till now
    for chain, head in rebuilt:
        click.echo(
            f"rebuilt the audit checkpoint of the {chain_name(chain)} at entry {head} and "
            f"recorded it as entry {head + 1}"
        )
    click.echo("audited writes work again. Find out how the rows were lost.")


def register(app: Flask) -> None:
    app.cli.add_command(audit_cli)
