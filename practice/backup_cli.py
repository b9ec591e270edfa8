"""`flask backup PATH` and `flask restore PATH`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from practice import backup as backups
from practice.extensions import db

PATH = click.Path(dir_okay=False, path_type=Path)


def _fail(error: backups.BackupError) -> None:
    click.echo(f"practice: {error}", err=True)
    sys.exit(1)


def _record(action: str) -> None:
    from practice.audit import service as audit

    audit.record(db.session, action, object_type="database")
    db.session.commit()


@click.command("backup")
@click.argument("path", type=PATH)
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@with_appcontext
def backup_command(path: Path, force: bool) -> None:
    """Write a consistent copy of the database to PATH (safe while the app runs)."""
    try:
        outcome = backups.backup(db.engine.url, path, force=force)
    except backups.BackupError as error:
        _fail(error)
    _record("database.backup")
    click.echo(f"backed up the database to {outcome.path} ({outcome.size} bytes)")
    click.echo(
        "keep the keyring and SECRET_KEY (and PRACTICE_AUDIT_KEY, if set) safe too: "
        "the backup is useless without them"
    )


@click.command("restore")
@click.argument("path", type=PATH)
@click.option("--force", is_flag=True, help="Replace the contents of a non-empty database.")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Load the backup at PATH into this app's database, which must be empty."""
    db.session.remove()
    db.engine.dispose()
    try:
        backups.restore(db.engine.url, path, force=force)
    except backups.BackupError as error:
        _fail(error)
    db.engine.dispose()
    _record("database.restore")
    keyring = current_app.extensions["keyring"]
    click.echo(f"restored {path} into the database; keyring active key {keyring.active_id}")
    click.echo("check it with: flask audit verify")


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
