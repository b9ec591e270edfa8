"""Clients: the assigned clients with search, a client's page, and the supervisor's
way in (supervisees → their clients)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.clients import ClientListArgs
from practice.audit import service as audit
from practice.auth import policy
from practice.auth.models import User
from practice.clients import service as client_service
from practice.clients.models import Client
from practice.database import utcnow
from practice.extensions import db
from practice.keys import client_keys
from practice.measures.service import risk_flags
from practice.notes import service as notes
from practice.notes.figures import ensure_therapist_figure, figure_view, figures_query
from practice.notes.scripts import script_view, scripts_query
from practice.record.summary import client_record
from practice.scheduling import service as scheduling
from practice.themes.inputs import NoteInput, session_numbers
from practice.themes.loader import load_attended
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


def load_client_page(client_id: uuid.UUID) -> tuple[Client, bool]:
    """The client and whether the caller may write (their own client); a supervisor of the
    client's care reads; everyone else: 404."""
    client = db.session.get(Client, client_id)
    if client is not None and policy.can_do_clinical_work(current_user, client):
        return client_service.read_client(current_user, client_id), True
    client = notes.get_clinical_client_for(current_user, client_id)
    audit.record(db.session, "client.read", object_type="client", object_id=client.id)
    return client, False


def numbered_notes(client: Client, authors: set) -> list[tuple]:
    """The readable notes of the client, newest first, each with its session number."""
    listed = db.session.scalars(notes.notes_query(authors, client, desc=True)).all()
    attended = load_attended(client, current_user.practice.timezone)
    inputs = [NoteInput(n.id, n.session_date, n.status, None, n.appointment_id) for n in listed]
    numbers = session_numbers(inputs, attended)
    for note in listed:
        audit.record(db.session, "note.list_item", object_type="note", object_id=note.id)
    return [(note, numbers.get(note.id)) for note in listed]


@bp.get("/clients/<uuid:client_id>")
@clinician_pages
def client(client_id):
    """Demographics (read), appointments, notes, figures and scripts."""
    record, writes = load_client_page(client_id)
    cipher = client_keys.client_cipher(record)
    zone = scheduling.practice_zone(current_user)
    appointments = []
    if writes:
        query = scheduling.appointment_query(current_user, {"client_id": record.id})
        appointments = db.session.scalars(query).all()
    authors = notes.note_authors_for(current_user, record)
    listed = numbered_notes(record, authors) if authors else []
    if writes:  # as the API's figure list: created on first need, never by a supervisor
        ensure_therapist_figure(record, current_user)
    figures = [figure_view(f, cipher) for f in db.session.scalars(figures_query(record))]
    scripts = [script_view(s, cipher) for s in db.session.scalars(scripts_query(record))]
    audit.record(db.session, "figure.list", object_type="client", object_id=record.id)
    audit.record(db.session, "script.list", object_type="client", object_id=record.id)
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
    ids = policy.supervisee_ids(current_user)
    if not current_user.has_role("supervisor"):
        abort(404)
    people = (
        db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.name)).all()
        if ids
        else []
    )
    rows = []
    for person in people:
        theirs = db.session.scalars(
            sa.select(Client)
            .where(Client.practice_id == current_user.practice_id)
            .where(client_service._assigned_to(person.id))
            .order_by(Client.last_name, Client.first_name)
        ).all()
        rows.append((person, theirs))
    audit.record(db.session, "supervision.list", object_type="user", object_id=current_user.id)
    return render_template("clients/supervision.html", rows=rows)
