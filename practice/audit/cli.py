"""`flask audit verify [--anchor FILE]`."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from practice.audit.verify import Anchor, verify_chain
from practice.extensions import db

audit_cli = AppGroup("audit", help="The audit log.")


def read_anchor(path: Path) -> Anchor | None:
    """The anchor in `path`; None when the file does not exist yet."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the anchor {path}: {exc}") from None
    seq, entry_hash = data.get("seq"), data.get("entry_hash")
    if not isinstance(seq, int) or seq < 0 or not isinstance(entry_hash, str):
        raise click.ClickException(f"the anchor {path} is not one this command wrote")
    return Anchor(seq, entry_hash)


def write_anchor(path: Path, head: tuple[int, str]) -> None:
    """Replace the anchor atomically, readable by its owner only."""
    record = {
        "seq": head[0],
        "entry_hash": head[1],
        "verified_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
        handle.write("\n")
    os.replace(partial, path)


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
    anchor = read_anchor(anchor_path) if anchor_path else None
    result = verify_chain(db.session, anchor=anchor)
    if not result.ok:
        click.echo(f"audit log BROKEN: {result.problem}", err=True)
        sys.exit(1)
    click.echo(f"audit log intact: {result.checked} entries")
    if anchor_path:
        write_anchor(anchor_path, result.head)
        click.echo(f"anchored entry {result.head[0]} in {anchor_path}")


def register(app: Flask) -> None:
    app.cli.add_command(audit_cli)
