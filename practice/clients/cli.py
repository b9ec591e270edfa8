"""`flask clients shred ID`: crypto-shredding a discharged client after the retention
period. The key itself is destroyed by practice/keys/client_keys.py (destroy_client_key);
the retention rule and the operator's confirmation are the clients' (this module sits
above keys/, which must not import clients/)."""

from __future__ import annotations

import sys
import uuid
from datetime import date

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from practice.audit import service as audit
from practice.clients.models import Client
from practice.extensions import db
from practice.keys import client_keys

clients_cli = AppGroup("clients", help="Clients.")


def _fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


CONFIRM_FLAG = "--i-understand-this-destroys-clinical-records"


@clients_cli.command("shred")
@click.argument("client_id", type=click.UUID)
@click.option("--force", is_flag=True, help=f"Ignore the retention period (needs {CONFIRM_FLAG}).")
@click.option(CONFIRM_FLAG, "confirmed", is_flag=True, help="Confirm --force.")
def shred_command(client_id: uuid.UUID, force: bool, confirmed: bool):
    """Destroy a discharged client's data key: their clinical text becomes unrecoverable.

    Appointments and demographics stay. Refused unless the client was discharged at
    least PRACTICE_RETENTION_YEARS (default 7) ago. Database backups still hold the
    wrapped key until they expire.
    """
    if force and not confirmed:
        _fail(f"--force also needs {CONFIRM_FLAG}", 2)
    client = db.session.get(Client, client_id)
    if client is None:
        _fail(f"no client {client_id}")
    years = int(current_app.config.get("PRACTICE_RETENTION_YEARS", 7))
    if not force:
        if client.status != "discharged" or client.discharge_date is None:
            _fail(f"client {client_id} is not discharged (with a discharge date); nothing shredded")
        ends = _add_years(client.discharge_date, years)
        if date.today() < ends:
            _fail(f"the {years}-year retention period of client {client_id} ends on {ends}")
    row = client_keys.destroy_client_key(client)
    audit.record(
        db.session,
        "client.shred",
        object_type="client",
        object_id=client.id,
        practice_id=client.practice_id,
    )
    db.session.commit()
    click.echo(f"shredded client {client_id}: data key {row.id} destroyed")


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def register(app: Flask) -> None:
    app.cli.add_command(clients_cli)
