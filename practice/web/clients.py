"""Clients: the assigned clients with search, a client's page, and the supervisor's
way in (supervisees → their clients)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.clients import ClientListArgs
from practice.clients import service as client_service
from practice.clients.models import Client
from practice.database import utcnow
from practice.extensions import db
from practice.measures.service import risk_flags
from practice.notes import service as notes
from practice.record.summary import client_record
from practice.scheduling import service as scheduling
from practice.themes import service as themes
from practice.web.pages import clinician_pages

bp = Blueprint("web_clients", __name__)
LIST_LIMIT = 200


@bp.get("/clients")
@clinician_pages
def clients():
    """The clients assigned to me, by last name; search by name."""
    if not current_user.has_role("clinician"):
        abort(404)
    try:
        args = ClientListArgs().load({"q": request.args.get("q", "")})
    except ValidationError:
        abort(400, "The search is too long.")
    query = client_service.search_clients(current_user, q=args.get("q"))
    found = db.session.scalars(query.limit(LIST_LIMIT + 1)).all()
    shown = found[:LIST_LIMIT]
    client_service.audit_listed(shown)
    return render_template(
        "clients/list.html", clients=shown, q=args.get("q") or "", more=len(found) > LIST_LIMIT
    )


@bp.get("/clients/<uuid:client_id>")
@clinician_pages
def client(client_id):
    """Demographics (read), appointments, notes, figures and scripts."""
    record, writes = notes.open_client_record(current_user, client_id)
    zone = scheduling.practice_zone(current_user)
    appointments = []
    if writes:
        query = scheduling.appointment_query(current_user, {"client_id": record.id})
        appointments = db.session.scalars(query).all()
    listed = themes.numbered_notes(current_user, record)
    figures, scripts = notes.figures_and_scripts(current_user, record, writable=writes)
    now = utcnow()
    return render_template(
        "clients/client.html",
        client=record,
        writes=writes,
        flags=risk_flags(record),
        record=client_record(current_user, record, writes=writes),
        upcoming=[a for a in appointments if a.starts_at >= now],
        past=[a for a in reversed(appointments) if a.starts_at < now],
        zone=zone,
        notes=listed,
        figures=figures,
        scripts=scripts,
        initials=initials(record),
    )


def initials(client: Client) -> str:
    """What titles may carry of a client: initials."""
    return f"{client.first_name[:1]}{client.last_name[:1]}".upper()


@bp.get("/supervision")
@clinician_pages
def supervision():
    """My supervisees and the clients in their care."""
    if not current_user.has_role("supervisor"):
        abort(404)
    rows = client_service.supervisees_with_clients(current_user)
    return render_template("clients/supervision.html", rows=rows)
