"""The HTTP layer: one flask-smorest blueprint per resource, over the domain services."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

from practice.extensions import api

# Resource modules, each exposing `blp` (a flask_smorest.Blueprint).
RESOURCES = (
    "health",
    "auth",
    "users",
    "tokens",
    "supervision",
    "practice_settings",
    "audit",
    "figures",
    "scripts",
    "notes",
    "themes",
    "appointments",
    "rooms",
    "clients",
    "calendar",
    "vocabularies",
    "progress_notes",
    "treatment_plans",
    "record_codes",
)


def register(app: Flask) -> None:
    from practice.api import docs

    for name in RESOURCES:
        api.register_blueprint(import_module(f"practice.api.{name}").blp)
    app.register_blueprint(docs.bp)
