"""Command-line interface: `flask --app wsgi practice|audit|keys|backup|restore …`.

Each domain keeps its commands next to its services; this module only mounts them.
"""

from __future__ import annotations

import functools
import os
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import sqlalchemy as sa
from flask import Flask, appcontext_pushed, has_request_context
from flask.cli import AppGroup

from practice import actor as actors
from practice import backup_cli, demo_cli
from practice.actor import Actor
from practice.audit import cli as audit_cli
from practice.audit import service as audit
from practice.audit.service import CheckpointMissing
from practice.auth import service, totp
from practice.clients import cli as clients_cli
from practice.extensions import db
from practice.keys import cli as keys_cli
from practice.keys.errors import KeyringError
from practice.measures import cli as measures_cli

practice_cli = AppGroup("practice", help="Practices and the demo practice.")

# Modules that attach commands of their own: each exposes `register(app)`.
COMMAND_MODULES = (audit_cli, keys_cli, clients_cli, backup_cli, measures_cli)


@practice_cli.command("create")
@click.option("--name", required=True, help="The practice's name.")
@click.option(
    "--timezone", "timezone_name", required=True, help="IANA time zone, e.g. Europe/Berlin."
)
@click.option("--owner-email", required=True)
@click.option("--owner-name", required=True)
@click.option(
    "--clinician/--no-clinician",
    default=True,
    help="The owner also sees clients (a solo therapist). Default: yes.",
)
def create_practice_command(name, timezone_name, owner_email, owner_name, clinician):
    """Create a practice and its owner (password from PRACTICE_OWNER_PASSWORD or a prompt)."""
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.UsageError(f"unknown time zone {timezone_name!r}") from None
    password = os.environ.get("PRACTICE_OWNER_PASSWORD") or click.prompt(
        "Owner password", hide_input=True, confirmation_prompt=True
    )
    roles = ["owner", "clinician"] if clinician else ["owner"]
    practice = service.create_practice(name, timezone_name)
    try:
        owner = service.create_user(
            practice, email=owner_email, name=owner_name, roles=roles, password=password
        )
    except service.PolicyError as exc:
        db.session.rollback()
        for field, problems in exc.errors.items():
            for problem in problems:
                click.echo(f"{field}: {problem}", err=True)
        sys.exit(1)
    audit.record(db.session, "user.create", object_type="user", object_id=owner.id, actor=owner)
    db.session.commit()
    click.echo(f"Created practice {practice.name!r} ({practice.id}); owner {owner.email}.")


def _user_by_email(email: str):
    user = service.find_user_by_email(email)
    if user is None:
        raise click.UsageError(f"no user with the email {email!r}")
    return user


def _commit_with_audit(user, action: str) -> None:
    """Record the operator's action on `user` (no actor: it came from the server's shell)."""
    audit.record(
        db.session, action, object_type="user", object_id=user.id, practice_id=user.practice_id
    )
    db.session.commit()


@practice_cli.command("reset-totp")
@click.argument("email")
def reset_totp_command(email):
    """Remove a user's second factor (a lost phone), when no owner can do it over the API:
    a solo therapist is their practice's only owner. Their sessions end and their API
    tokens are revoked; where the practice requires a factor they enrol again at their
    next login."""
    user = _user_by_email(email)
    if totp.reset(user):
        message = (
            f"Removed the second factor of {user.email}; their sessions have ended "
            "and their API tokens are revoked."
        )
    else:
        message = f"{user.email} has no second factor; nothing changed."
    _commit_with_audit(user, "user.totp_reset")
    click.echo(message)


@practice_cli.command("reset-password")
@click.argument("email")
def reset_password_command(email):
    """Set a temporary password for a user who forgot theirs (from PRACTICE_NEW_PASSWORD
    or a prompt): their sessions end, their API tokens are revoked, and they must choose
    their own at next login.

    Only the operator can do this, never an owner over the API: whoever sets a
    clinician's password could log in as them and read their process notes."""
    user = _user_by_email(email)
    password = os.environ.get("PRACTICE_NEW_PASSWORD") or click.prompt(
        "Temporary password", hide_input=True, confirmation_prompt=True
    )
    try:
        service.reset_password(user, password)
    except service.PolicyError as exc:
        db.session.rollback()
        for problems in exc.errors.values():
            for problem in problems:
                click.echo(f"password: {problem}", err=True)
        sys.exit(1)
    _commit_with_audit(user, "user.password_reset")
    click.echo(
        f"Set a temporary password for {user.email} (their sessions ended, their API tokens "
        "are revoked); they choose their own at next login."
    )


NO_SCHEMA_STATES = {"42P01", "42703"}  # PostgreSQL: undefined table, undefined column


def problem_with(error: Exception) -> str | None:
    """One line for what stops a command that is not the command's fault (a missing
    schema, an unreachable database, an unusable keyring, a lost audit checkpoint);
    None for anything else, which keeps its traceback."""
    if isinstance(error, sa.exc.DBAPIError):
        detail = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else ""
        if getattr(error.orig, "sqlstate", None) in NO_SCHEMA_STATES or detail.startswith(
            ("no such table", "no such column")
        ):
            return f"the database has no schema, or an older one ({detail}): run `flask db upgrade`"
        if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
            return f"cannot use the database ({detail}); check DATABASE_URL and that it runs"
        return None
    if isinstance(error, KeyringError):
        return f"keyring: {error}"
    if isinstance(error, CheckpointMissing):
        return str(error)
    return None


def one_line_errors(command: click.Command) -> None:
    """Make `command` (and a group's commands) end in one line and exit 1 on
    `problem_with` errors, instead of a traceback."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            one_line_errors(sub)
    callback = command.callback
    if callback is None or getattr(callback, "_one_line", False):
        return

    @functools.wraps(callback)
    def guarded(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except Exception as error:
            message = problem_with(error)
            if message is None:
                raise
            click.echo(f"practice: {message}", err=True)
            sys.exit(1)

    guarded._one_line = True
    command.callback = guarded


def act_as_operator(app: Flask) -> None:
    """A `flask …` command acts as the operator: every app context a command opens has
    `Actor.cli()` bound to its unit of work, so what it audits names no user and no
    address unless the command passes the user it acts as (e.g. `actor=owner`)."""

    def bind(sender: Flask, **_extra) -> None:
        if click.get_current_context(silent=True) is not None and not has_request_context():
            actors.bind(db.session, Actor.cli())

    appcontext_pushed.connect(bind, app, weak=False)


def register(app: Flask) -> None:
    act_as_operator(app)
    practice_cli.add_command(demo_cli.demo_command)
    app.cli.add_command(practice_cli)
    for module in COMMAND_MODULES:
        module.register(app)
    for command in app.cli.commands.values():
        one_line_errors(command)
