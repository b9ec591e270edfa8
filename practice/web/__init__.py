"""The web app: server-rendered pages for clinicians over the same services as the API.

Pages call the domain services (never the API over HTTP), validate forms with the API's
marshmallow schemas, and share its sessions, timeouts, throttling and TOTP rules.
Errors on page URLs answer HTML pages in the layout (practice.http asks `page_errors`).
"""

from __future__ import annotations

from flask import Flask

from practice.web import (
    account,
    admin,
    booked,
    booking,
    clients,
    desk,
    frontdesk,
    measures,
    notes,
    pages,
    personal,
    progress_notes,
    records,
    schedule,
    themes,
    treatment_plans,
)

# Page modules, each exposing `bp` (a flask.Blueprint).
AREAS = (
    account,
    schedule,
    clients,
    notes,
    themes,
    records,
    progress_notes,
    treatment_plans,
    measures,
    desk,
    frontdesk,
    booking,
    booked,
    admin,
    personal,
)


def register(app: Flask) -> None:
    app.register_blueprint(pages.bp)
    for area in AREAS:
        app.register_blueprint(area.bp)
    app.extensions["page_errors"] = pages.error_page
    app.before_request(pages.guard)
    app.context_processor(pages.layout_context)
