"""`flask audit verify [--anchor FILE]`."""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from practice.audit import service as audit
from practice.audit.verify import Anchor, ChainBroken, rebuild_checkpoint, verify_chain
from practice.extensions import db
from practice.files import write_private

audit_cli = AppGroup("audit", help="The audit log.")


def read_anchor(path: Path) -> Anchor | None:
    """The anchor in `path`; None when the file does not exist yet."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the anchor {path}: {exc}") from None
    seq = data.get("seq") if isinstance(data, dict) else None
    entry_hash = data.get("entry_hash") if isinstance(data, dict) else None
    if type(seq) is not int or seq < 0 or not isinstance(entry_hash, str):
        raise click.ClickException(f"the anchor {path} is not one this command wrote")
    return Anchor(seq, entry_hash)


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


def write_anchor(path: Path, head: tuple[int, str]) -> None:
    """Replace the anchor atomically and durably, readable by its owner only."""
    record = {
        "seq": head[0],
        "entry_hash": head[1],
        "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_private(path, json.dumps(record) + "\n")


@audit_cli.command("verify")
@click.option(
    "--anchor",
    "anchor_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file outside the database's reach: the head seen last time is checked, "
    "and after success the new head is written there.",
)
def verify_command(anchor_path: Path | None):
    """Check the hash chain and its signed head; exit 1 naming the first bad entry."""
    if anchor_path is None:
        _verify(None)
        return
    with locked(anchor_path):
        head = _verify(read_anchor(anchor_path))
        write_anchor(anchor_path, head)  # never backwards: the walk reached the anchor
        click.echo(f"anchored entry {head[0]} in {anchor_path}")


WRONG_KEY_EXIT = 3  # not tampering: the configured chain key is not the one that wrote it


def _verify(anchor: Anchor | None) -> tuple[int, str]:
    result = verify_chain(db.session, anchor=anchor)
    if result.wrong_key:
        click.echo(f"audit log UNVERIFIABLE: {result.problem}", err=True)
        sys.exit(WRONG_KEY_EXIT)
    if not result.ok:
        click.echo(f"audit log BROKEN: {result.problem}", err=True)
        sys.exit(1)
    click.echo(f"audit log intact: {result.checked} entries")
    for note in result.notes:
        click.echo(f"  note: {note}")
    return result.head


@audit_cli.command("repair-checkpoint")
@click.option(
    "--anchor",
    "anchor_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The anchor file `verify --anchor` keeps: the log must still reach it.",
)
def repair_checkpoint_command(anchor_path: Path | None):
    """Rebuild a lost checkpoint row at the last entry, after checking the chain; audited.

    Without the checkpoint nothing can be appended (every audited write fails). The
    chain's hashes still vouch for every entry, but not for a cut tail: pass the anchor
    of your regular `verify --anchor` runs so a log cut back behind it is refused.
    """
    anchor = read_anchor(anchor_path) if anchor_path is not None else None
    try:
        head = rebuild_checkpoint(db.session, anchor)
    except ChainBroken as broken:
        db.session.rollback()
        click.echo(f"audit: checkpoint not rebuilt: {broken.problem}", err=True)
        sys.exit(1)
    audit.record(db.session, audit.REPAIR_ACTION, object_type="audit_log", object_id=str(head))
    db.session.commit()
    click.echo(
        f"rebuilt the audit checkpoint at entry {head} and recorded it as entry {head + 1}; "
        "audited writes work again. Find out how the row was lost."
    )


def register(app: Flask) -> None:
    app.cli.add_command(audit_cli)
