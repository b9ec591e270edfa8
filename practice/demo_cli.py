"""`flask practice demo [--if-empty]`: create the demo practice and say how to log in.

practice/cli.py puts the command on the `practice` group."""

from __future__ import annotations

import sys
import time

import click
import sqlalchemy as sa

from practice import demo
from practice.auth.models import User
from practice.extensions import db


@click.command("demo")
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when the database already holds a practice."
)
def demo_command(if_empty: bool) -> None:
    """Create a demo practice: staff, clients, a year of sessions and signed notes.

    Only into an empty database: when a practice exists it says so in one line and exits
    1 (0 with --if-empty, printing the demo logins when that practice is the demo)."""
    if demo.any_practice():
        # A demo (whose password is published) never joins a practice's real data.
        existing = _demo_logins()
        if not if_empty:
            what = "the demo practice exists" if existing else "this database holds a practice"
            click.echo(
                f"practice: {what} already; the demo is only created in an empty database "
                "(--if-empty: do nothing, and print the demo logins if it is the demo)",
                err=True,
            )
            sys.exit(1)
        if existing:
            click.echo("practice: the demo practice exists already; no demo created.")
            _print_logins(existing, "unless they were changed")
        else:
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
    _print_logins(result.logins)


def _demo_logins() -> list[tuple[str, str]]:
    """(email, roles) of the demo's staff present in the database."""
    emails = [email for _key, _name, email, _roles in demo.STAFF]
    users = db.session.scalars(sa.select(User).where(User.email.in_(emails))).all()
    by_email = {user.email: ", ".join(user.roles) for user in users}
    return [(email, by_email[email]) for email in emails if email in by_email]


def _print_logins(logins: list[tuple[str, str]], caveat: str = "") -> None:
    click.echo("Log in (POST /api/v1/auth/login) as any of these, all invented:")
    for email, roles in logins:
        click.echo(f"  {email:<40} {roles}")
    click.echo(
        f"Password for all of them: {demo.DEMO_PASSWORD}" + (f" ({caveat})" if caveat else "")
    )
    click.echo(
        "Then, as a clinician: GET /api/v1/clients, pick a client, and open "
        "/api/v1/clients/<id>/themes.svg (or themes, themes.csv)."
    )
