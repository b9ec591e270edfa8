"""`flask keys status|rotate|retire` (shredding a client's key: `flask clients shred`,
practice/clients/cli.py)."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from practice.audit import service as audit
from practice.extensions import db
from practice.keys import client_keys, rotation
from practice.keys.errors import KeyringError, UnknownKeyError
from practice.keys.keyring import load_keyring

keys_cli = AppGroup("keys", help="Master keys (the keyring) and client data keys.")

KEYRING_OPTION = click.option(
    "--keyring",
    "keyring_path",
    default=None,
    help="Keyring file to use (default: PRACTICE_KEYRING).",
)


def _fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _load(keyring_path: str | None):
    try:
        path = rotation.keyring_file(keyring_path or current_app.config.get("PRACTICE_KEYRING"))
        return path, load_keyring(path)
    except (rotation.RotationError, KeyringError) as exc:
        _fail(str(exc), 2)


@keys_cli.command("status")
@KEYRING_OPTION
def status_command(keyring_path):
    """List master keys, the active one, and how many data keys each wraps.

    Exits 1 when a data key is wrapped by a master key missing from the keyring.
    """
    path, keyring = _load(keyring_path)
    usage = rotation.key_usage(db.session)
    click.echo(f"keyring {path}: {len(keyring.keys)} master key(s)")
    for key_id in sorted(set(keyring.keys) | set(usage)):
        mark = "active" if key_id == keyring.active_id else ""
        if key_id not in keyring.keys:
            mark = "MISSING"
        secrets_count = rotation.secret_usage(db.session, key_id)
        click.echo(
            f"  {key_id:<12} {mark:<8} {usage.get(key_id, 0)} data key(s), "
            f"{secrets_count} sealed user secret(s)"
        )
    click.echo(f"shredded data keys: {rotation.shredded_count(db.session)}")
    missing = rotation.missing_keys(db.session, keyring)
    # Only keys the keyring holds can be rewrapped: a missing key is not a rotation to resume.
    pending = rotation.pending_count(db.session, keyring.active_id) - missing.pending_on_missing
    if pending:
        click.echo(
            f"{pending} data key(s) or user secret(s) not on the active key: "
            "run `flask keys rotate --resume`"
        )
    if missing:
        ids = ", ".join(sorted(missing.data_keys)) or "unknown"
        _fail(
            f"the keyring {path} lacks master key(s) {ids} that stored data needs "
            f"({sum(missing.data_keys.values())} data key(s), {missing.secrets} user "
            "secret(s)): put the keyring that holds them in place (after a restore: the "
            "keyring backed up with the database); rotating cannot help"
        )


@keys_cli.command("rotate")
@KEYRING_OPTION
@click.option("--resume", is_flag=True, help="Only finish an unfinished rotation; add no key.")
@click.option("--batch-size", default=rotation.DEFAULT_BATCH, show_default=True, type=int)
def rotate_command(keyring_path, resume, batch_size):
    """Add a new active master key and rewrap every client data key under it.

    The new key is written to the keyring file (atomically, mode 0600) before any data
    key is rewrapped; data keys are then rewrapped in batches, one transaction each.
    Safe to kill at any point and rerun: when data keys are still wrapped by a key other
    than the active one (an interrupted rotation, or keys made by an instance that had
    not yet seen the new key), `rotate` finishes that rotation instead of adding another
    key, and `rotate --resume` never adds a key. Old master keys stay in the keyring
    until `flask keys retire ID`; keep a copy of the old keyring with old backups.
    Running instances pick the changed keyring file up on their next key use.
    """
    if batch_size < 1:
        _fail("--batch-size must be at least 1", 2)
    path, keyring = _load(keyring_path)
    pending = rotation.pending_count(db.session, keyring.active_id)
    if pending:
        click.echo(
            f"resuming an unfinished rotation: {pending} data key(s) or user secret(s) "
            f"not yet on active key {keyring.active_id}"
        )
    elif resume:
        click.echo(f"nothing to resume: every data key is on active key {keyring.active_id}")
        return
    else:
        db.session.rollback()  # hold no transaction (or SQLite write lock) while writing
        previous = keyring.active_id
        keyring = rotation.add_master_key(path)
        click.echo(f"added master key {keyring.active_id} (active) to {path}; was {previous}")
        pending = rotation.pending_count(db.session, keyring.active_id)
    current_app.extensions["keyring"] = keyring

    def progress(done: int) -> None:
        click.echo(f"rewrapped {done}/{pending}")

    try:
        result = rotation.rewrap_pending(db.session, keyring, batch_size, progress)
    except UnknownKeyError as exc:
        _fail(f"{exc}; put that key back into the keyring and rerun (nothing was lost)")
    client_keys.forget_keys()
    resealed = rotation.reseal_user_secrets(db.session, keyring, batch_size)
    failed = bool(result.failed or resealed.failed)
    _audit("keys.rotate", keyring.active_id, "failure" if failed else "success")
    if result.failed:
        _fail(
            f"{len(result.failed)} data key(s) failed their integrity check and were left "
            f"as they are: {', '.join(result.failed[:20])}"
        )
    if resealed.failed:
        _fail(
            f"{len(resealed.failed)} user TOTP secret(s) could not be opened and were left as "
            f"they are (those users must re-enrol): {', '.join(resealed.failed[:20])}"
        )
    click.echo(
        f"done: {result.rewrapped} data key(s) rewrapped and {resealed.rewrapped} user "
        f"secret(s) resealed; all on {keyring.active_id}"
    )


@keys_cli.command("retire")
@KEYRING_OPTION
@click.argument("key_id")
def retire_command(keyring_path, key_id):
    """Remove master key KEY_ID from the keyring; refused while anything still uses it.

    The active key can never be retired. Backups taken while KEY_ID was in use need the
    old keyring: keep a copy of it with them.
    """
    path, _keyring = _load(keyring_path)
    try:
        keyring = rotation.retire_master_key(db.session, path, key_id)
    except rotation.RotationError as exc:
        _fail(str(exc))
    current_app.extensions["keyring"] = keyring
    _audit("keys.retire", key_id)
    click.echo(f"retired master key {key_id}; {len(keyring.keys)} key(s) remain in {path}")


def _audit(action: str, key_id: str, outcome: str = "success") -> None:
    audit.record(db.session, action, object_type="master_key", object_id=key_id, outcome=outcome)
    db.session.commit()


def register(app: Flask) -> None:
    app.cli.add_command(keys_cli)
