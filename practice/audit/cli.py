"""`flask audit verify`."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from practice.audit.verify import verify_chain
from practice.extensions import db

audit_cli = AppGroup("audit", help="The audit log.")


@audit_cli.command("verify")
def verify_command():
    """Check the hash chain and its signed head; exit 1 naming the first bad entry."""
    result = verify_chain(db.session)
    if result.ok:
        click.echo(f"audit log intact: {result.checked} entries")
        return
    click.echo(f"audit log BROKEN: {result.problem}", err=True)
    sys.exit(1)


def register(app: Flask) -> None:
    app.cli.add_command(audit_cli)
