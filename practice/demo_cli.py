"""`flask practice demo [--if-empty]`: create the demo practice and say how to log in."""

from __future__ import annotations

import time

import click
from flask import Flask

from practice.cli import practice_cli
from practice.extensions import db


@practice_cli.command("demo")
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when the database already holds a practice."
)
def demo_command(if_empty: bool) -> None:
    """Create a demo practice: staff, clients, a year of sessions and signed notes."""
    from practice import demo

    if if_empty and demo.any_practice():
        click.echo("practice: a practice exists already; no demo created.")
        return
    started = time.perf_counter()
    result = demo.create_demo()
    db.session.commit()
    took = time.perf_counter() - started
    click.echo(
        f"Created {result.practice.name!r}: {result.clients} clients, "
        f"{result.appointments} appointments, {result.notes} process notes ({took:.1f} s)."
    )
    click.echo("Log in (POST /api/v1/auth/login) as any of these, all invented:")
    for email, roles in result.logins:
        click.echo(f"  {email:<40} {roles}")
    click.echo(f"Password for all of them: {demo.DEMO_PASSWORD}")
    click.echo(
        "Then, as a clinician: GET /api/v1/clients, pick a client, and open "
        "/api/v1/clients/<id>/themes.svg (or themes, themes.csv)."
    )


def register(app: Flask) -> None:
    """The command lives on the `practice` group, which practice.cli mounts."""
