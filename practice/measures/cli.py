"""`flask measures check [FOLDER]`: check instrument definition files before a deploy."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from practice.measures.definitions import DefinitionError, definition_files, load_instruments

measures_cli = AppGroup("measures", help="Outcome measure instruments (definition files).")


@measures_cli.command("check")
@click.argument("folder", required=False)
def check_command(folder):
    """Check the shipped definitions and FOLDER's (default: PRACTICE_MEASURES_DIR).

    Prints one line per instrument; on the first bad file, one line naming the file and
    the field, and exit 1 (start-up would stop on the same file)."""
    folder = folder or current_app.config.get("PRACTICE_MEASURES_DIR")
    try:
        found = load_instruments(folder)
        files = definition_files(folder)
    except DefinitionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for instrument in found.values():
        click.echo(
            f"{instrument.id}: {instrument.name} v{instrument.version}, "
            f"{len(instrument.items)} items, {len(instrument.bands)} bands, "
            f"reliable change {instrument.reliable_change}, "
            f"caseness {instrument.caseness if instrument.caseness is not None else 'none'}"
        )
    click.echo(f"{len(files)} definition files, all valid")


def register(app: Flask) -> None:
    app.cli.add_command(measures_cli)
