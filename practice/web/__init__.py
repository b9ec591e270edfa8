"""The web app: server-rendered pages for clinicians over the same services as the API.

Pages call the domain services (never the API over HTTP), validate forms with the API's
marshmallow schemas, and share its sessions, timeouts, throttling and TOTP rules.
Errors on page URLs answer HTML pages in the layout (practice.http asks `page_errors`).
"""

from __future__ import annotations

from importlib import import_module

from flask import Flask

# Page modules, each exposing `bp` (a flask.Blueprint).
AREAS = (
    "account",
    "schedule",
    "clients",
    "notes",
    "themes",
    "records",
    "desk",
    "admin",
    "personal",
)


def register(app: Flask) -> None:
    from practice.web import pages

    app.register_blueprint(pages.bp)
    for name in AREAS:
        app.register_blueprint(import_module(f"practice.web.{name}").bp)
    app.extensions["page_errors"] = pages.error_page
    app.before_request(pages.guard)
    app.context_processor(pages.layout_context)
