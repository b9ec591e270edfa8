"""The practice application factory."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from werkzeug.middleware.proxy_fix import ProxyFix

from config import config_for, instance_path
from practice import cli, http, login, web
from practice.api import register as mount_api
from practice.api.openapi import init_api
from practice.audit import sealer as audit_sealer
from practice.audit import service as audit_service
from practice.database import configure_sqlite, ping_when_idle
from practice.extensions import api, db, limiter, login_manager, migrate
from practice.keys.errors import KeyringError
from practice.keys.keyring import generate_keyring, load_keyring
from practice.notes.template import load_ccrt_tags


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error handlers, CLI."""
    config = config_for(config_name)
    missing = config.missing()
    if missing:
        sys.exit(
            f"practice: the {config.NAME} configuration cannot start; missing: "
            + ", ".join(missing)
        )
    app = Flask(
        __name__,
        instance_path=str(instance_path()),
        instance_relative_config=True,
        static_folder=None,
    )
    app.config.from_object(config)
    app.config.update(config.from_environment())
    app.config.update(overrides or {})
    prepare_instance(app)
    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_cli(app)
    return app


def _say(message: str) -> None:
    click.echo(f"practice: {message}", err=True)


def prepare_instance(app: Flask) -> None:
    """Fill in the database URL, secret key and keyring; development generates them once."""
    instance = Path(app.instance_path)
    development = app.config["NAME"] == "development"
    if development:
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'practice.db'}"
    if not app.config.get("SECRET_KEY") and development:
        app.config["SECRET_KEY"] = _development_secret_key(instance / "secret_key")
    if not app.config.get("SECRET_KEY"):
        sys.exit("practice: cannot start: SECRET_KEY is not set")

    source = app.config.get("PRACTICE_KEYRING")
    if not source and development:
        path = instance / "keyring.json"
        if not path.exists():
            generate_keyring(path)
            _say(f"generated a development keyring in {path} (mode 0600); back it up")
        source = str(path)
    if not source:
        sys.exit("practice: cannot start: PRACTICE_KEYRING is not set")
    app.config["PRACTICE_KEYRING"] = source  # `flask keys …` use the keyring the app uses
    try:
        app.extensions["keyring"] = load_keyring(source)
    except KeyringError as exc:
        sys.exit(f"practice: cannot start: PRACTICE_KEYRING: {exc}")

    tags = app.config.get("PRACTICE_CCRT_TAGS")
    if tags:
        try:
            app.extensions["ccrt_tags"] = load_ccrt_tags(tags)
        except ValueError as exc:
            sys.exit(f"practice: cannot start: PRACTICE_CCRT_TAGS: {exc}")


def _development_secret_key(path: Path) -> str:
    """Read instance/secret_key, creating it (mode 0600 from the first byte) on first run."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        _say(f"generated a development secret key in {path}")
    key = path.read_text().strip()
    if not key:
        sys.exit(f"practice: cannot start: {path} is empty; delete it to generate a new key")
    return key


def trust_proxies(app: Flask) -> None:
    """Behind PRACTICE_PROXY_HOPS reverse proxies, take the client address and scheme from
    their X-Forwarded-For/-Proto headers (throttling and the audit log depend on it)."""
    hops = int(app.config.get("PRACTICE_PROXY_HOPS") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_extensions(app: Flask) -> None:
    """Bind db, migrate, login manager, OpenAPI and the rate limiter to this app."""
    try:
        db.init_app(app)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        # Not the URL itself in the message: it may hold a password.
        problem = (
            "not a database URL (e.g. postgresql+psycopg://user@host/db)"
            if isinstance(exc, ArgumentError)
            else f"its driver is not installed ({exc}); for PostgreSQL use postgresql+psycopg://"
        )
        sys.exit(f"practice: cannot start: DATABASE_URL: {problem}")
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
        ping_when_idle(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).parent.parent / "migrations"))
    login_manager.init_app(app)
    limiter.init_app(app)
    init_api(app, api)

    login.init_login_manager(login_manager)
    app.before_request(login.forget_caller)
    app.teardown_request(login.forget_actor)
    audit_service.init_session_events()
    audit_sealer.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Mount the HTTP API, the offline docs assets and the web app's pages."""
    mount_api(app)
    web.register(app)


def register_errorhandlers(app: Flask) -> None:
    """One error envelope for everything, plus the request-boundary hooks."""
    http.init_app(app)


def register_cli(app: Flask) -> None:
    """`flask practice|keys|audit|backup|restore …`."""
    cli.register(app)
