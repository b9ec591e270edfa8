"""`flask backup PATH` and `flask restore PATH`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask.cli import with_appcontext

from practice import backup as backups
from practice.audit import service as audit
from practice.audit.verify import verify_chain
from practice.extensions import db
from practice.keys import rotation
from practice.keys.client_keys import current_keyring
from practice.keys.envelope import unwrap_data_key
from practice.keys.errors import IntegrityError
from practice.keys.models import ClientDataKey

PATH = click.Path(dir_okay=False, path_type=Path)


def _fail(error: backups.BackupError) -> None:
    click.echo(f"practice: {error}", err=True)
    sys.exit(1)


def _record(action: str) -> None:
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
@click.option(
    "--force",
    is_flag=True,
    help="Replace the contents of a non-empty database, and keep a restore whose data "
    "keys or audit log this server's keys do not open (warning instead of refusing).",
)
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Load the backup at PATH into this app's database, which must be empty.

    Before reporting success it checks that this server's keyring opens every restored
    data key and that the audit log verifies with this server's chain key; when not, it
    says what is missing and empties the database again (unless --force)."""
    db.session.remove()
    db.engine.dispose()
    try:
        was_empty = not backups.existing_tables(db.engine.url)
        backups.restore(db.engine.url, path, force=force)
    except backups.BackupError as error:
        _fail(error)
    db.engine.dispose()
    problems = restored_problems()
    db.session.remove()
    db.engine.dispose()
    if problems and not force:
        try:
            if was_empty:
                backups.empty_again(db.engine.url, path)
        except backups.BackupError as error:
            _fail(error)
        for problem in problems:
            click.echo(f"practice: {problem}", err=True)
        click.echo(
            "practice: restore refused"
            + ("; the database is empty again" if was_empty else "")
            + ". Configure the keyring and keys the backup was made with (or pass --force "
            "to keep a restore this server cannot fully read).",
            err=True,
        )
        sys.exit(1)
    for problem in problems:
        click.echo(f"practice: WARNING (--force): {problem}", err=True)
    _record("database.restore")
    keyring = current_app.extensions["keyring"]
    click.echo(f"restored {path} into the database; keyring active key {keyring.active_id}")
    if not problems:
        click.echo("checked: the keyring opens every data key, and the audit log verifies")


def restored_problems() -> list[str]:
    """What this server's keyring and chain key cannot open in the restored database."""
    problems = _key_problems()
    if not _at_head():
        problems.append(
            "the backup's schema is older than this code: run `flask db upgrade`, then "
            "`flask audit verify` (the audit log was not checked)"
        )
        return problems
    result = verify_chain(db.session)
    if result.wrong_key:
        problems.append(
            "the audit log was written with another chain key: configure the "
            "PRACTICE_AUDIT_KEY (or SECRET_KEY) of the instance the backup came from"
        )
    elif not result.ok:
        problems.append(f"the backup's audit log does not verify: {result.problem}")
    return problems


def _key_problems() -> list[str]:
    keyring = current_keyring()
    problems = []
    missing = rotation.missing_keys(db.session, keyring)
    if missing:
        problems.append(
            f"the keyring lacks master key(s) {', '.join(sorted(missing.data_keys)) or '-'} "
            f"that the backup's data needs ({sum(missing.data_keys.values())} data key(s), "
            f"{missing.secrets} user secret(s))"
        )
    failed = 0
    rows = db.session.execute(
        sa.select(
            ClientDataKey.id,
            ClientDataKey.practice_id,
            ClientDataKey.client_id,
            ClientDataKey.master_key_id,
            ClientDataKey.wrapped_key,
        ).where(ClientDataKey.wrapped_key.is_not(None))
    )
    for row in rows:
        if row.master_key_id not in keyring.keys:
            continue  # counted above
        try:
            unwrap_data_key(
                keyring, row.practice_id, row.client_id, row.id, row.master_key_id, row.wrapped_key
            )
        except IntegrityError:
            failed += 1
    if failed:
        problems.append(
            f"{failed} data key(s) fail their integrity check under this keyring "
            "(a master key with the same id but other bytes?)"
        )
    return problems


def _at_head() -> bool:
    config = current_app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    current = MigrationContext.configure(db.session.connection()).get_current_revision()
    return current == head


def register(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
