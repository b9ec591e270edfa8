"""The HTTP layer: one flask-smorest blueprint per resource, over the domain services."""

from __future__ import annotations

from flask import Flask

from practice.api import (
    appointments,
    audit,
    auth,
    calendar,
    clients,
    docs,
    figures,
    free_slots,
    health,
    measures,
    notes,
    practice_settings,
    progress_notes,
    record_codes,
    rooms,
    scripts,
    supervision,
    themes,
    tokens,
    treatment_plans,
    users,
    vocabularies,
)
from practice.extensions import api

# Resource modules, each exposing `blp` (a flask_smorest.Blueprint), in the order they
# are mounted (and their tags appear in the OpenAPI document).
RESOURCES = (
    health,
    auth,
    users,
    tokens,
    supervision,
    practice_settings,
    audit,
    figures,
    scripts,
    notes,
    themes,
    appointments,
    free_slots,
    rooms,
    clients,
    calendar,
    vocabularies,
    progress_notes,
    treatment_plans,
    record_codes,
    measures,
)


def register(app: Flask) -> None:
    for resource in RESOURCES:
        api.register_blueprint(resource.blp)
    app.register_blueprint(docs.bp)
