"""The front desk's clients (schedulers and owners): the register with search, a client's
record with its edit form, registering a new client (with the possible-duplicate warning
the user can override), and, for owners, the record export.

Demographics, and a client's next appointments (times, clinician, status) with a link
to book another; no note, script, figure or cancel reason is read here. Forms go
through the API's schemas (practice.api.clients) and the same service calls.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint, Response, abort, json, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice import export
from practice.api.clients import ClientCreateSchema, ClientListArgs, ClientUpdateSchema
from practice.audit import service as audit
from practice.auth.models import User
from practice.clients import duplicates
from practice.clients import service as client_service
from practice.clients.models import CLIENT_STATUSES
from practice.database import utcnow
from practice.extensions import db
from practice.scheduling import service as scheduling
from practice.web.pages import desk_pages

bp = Blueprint("web_desk", __name__)
LIST_LIMIT = 200
TEXT_FIELDS = ("first_name", "last_name", "preferred_name", "email", "phone")
DATE_FIELDS = ("date_of_birth", "intake_date", "discharge_date")
DONE = {"saved": "Saved.", "registered": "The client is registered."}
UPCOMING = 10  # the client's next appointments on their page


def clinicians() -> list[User]:
    """The practice's active clinicians, by name (for the primary and care-team fields)."""
    users = db.session.scalars(
        sa.select(User)
        .where(User.practice_id == current_user.practice_id, User.active.is_(True))
        .order_by(User.name, User.id)
    )
    return [user for user in users if user.has_role("clinician")]


def form_record() -> dict:
    """The client form as the API's JSON body: blanks clear, dates as ISO strings."""
    form = request.form
    record: dict = {name: form.get(name, "") for name in TEXT_FIELDS}
    for name in DATE_FIELDS:
        record[name] = form.get(name, "").strip() or None
    if form.get("primary_clinician_id"):
        record["primary_clinician_id"] = form["primary_clinician_id"]
    record["care_team_ids"] = [v for v in form.getlist("care_team_ids") if v]
    if form.get("status"):
        record["status"] = form["status"]
    return record


def flat_errors(errors: dict) -> dict[str, list[str]]:
    """Field → messages, as the pages show them beside each field; a list field's
    per-item messages (the care team's) are gathered under the field's name."""
    flat: dict[str, list[str]] = {}
    for name, found in errors.items():
        if isinstance(found, dict):
            flat[name] = [m for sub in found.values() for m in flat_errors({"": sub})[""]]
        elif isinstance(found, list):
            flat[name] = [str(m) for m in found]
        else:
            flat[name] = [str(found)]
    return flat


def _form_page(template: str, status: int = 200, **context):
    context.setdefault("errors", {})
    context.setdefault("candidates", [])
    page = render_template(
        template,
        clinicians=clinicians(),
        statuses=CLIENT_STATUSES,
        reason_words=duplicates.REASON_WORDS,
        **context,
    )
    return page, status


@bp.get("/desk/clients")
@desk_pages
def clients():
    """Every client of the practice by last name; search by name, filter by status."""
    raw = {"q": request.args.get("q", "")}
    if request.args.get("status"):
        raw["status"] = request.args["status"]
    try:
        args = ClientListArgs().load(raw)
    except ValidationError:
        abort(400, "The search is too long or the status unknown.")
    query = client_service.search_clients(current_user, q=args.get("q"), status=args.get("status"))
    found = db.session.scalars(query.limit(LIST_LIMIT + 1)).all()
    shown = found[:LIST_LIMIT]
    client_service.audit_listed(shown)
    return render_template(
        "desk/list.html",
        clients=shown,
        q=args.get("q") or "",
        status=args.get("status") or "",
        statuses=CLIENT_STATUSES,
        more=len(found) > LIST_LIMIT,
        names={user.id: user.name for user in _people()},
    )


def _people() -> list[User]:
    return db.session.scalars(
        sa.select(User).where(User.practice_id == current_user.practice_id)
    ).all()


@bp.route("/desk/clients/new", methods=["GET", "POST"])
@desk_pages
def new_client():
    """Register a client. A possible duplicate is shown with the form kept; ticking
    "register anyway" sends it again with the override (audited)."""
    if request.method == "GET":
        return _form_page("desk/new.html", form={"status": "active", "care_team_ids": []})
    record = form_record()
    allow = request.form.get("allow_duplicate") == "yes"
    kept = dict(record)
    try:
        args = ClientCreateSchema().load(record)
    except ValidationError as exc:
        return _form_page("desk/new.html", 422, form=kept, errors=flat_errors(exc.messages))
    args.pop("allow_duplicate", None)
    try:
        client = client_service.create_client(current_user, args, allow_duplicate=allow)
    except client_service.ClientError as exc:
        return _form_page("desk/new.html", 422, form=kept, errors=flat_errors(exc.errors))
    except duplicates.PossibleDuplicate as exc:
        return _form_page("desk/new.html", 409, form=kept, candidates=exc.candidates)
    return redirect(url_for("web_desk.client", client_id=client.id, done="registered"))


def _record_form(client) -> dict:
    form = {name: getattr(client, name) or "" for name in TEXT_FIELDS}
    for name in DATE_FIELDS:
        value = getattr(client, name)
        form[name] = value.isoformat() if value else ""
    form["status"] = client.status
    form["primary_clinician_id"] = str(client.primary_clinician_id)
    form["care_team_ids"] = sorted(str(m) for m in client.care_team_ids)
    return form


def _upcoming(client) -> list:
    """The client's next appointments with any clinician (what the desk is asked on the
    phone): times, clinician and status only; audited as a listing, like the day."""
    query = scheduling.appointment_query(current_user, {"client_id": client.id, "start": utcnow()})
    rows = db.session.scalars(query.limit(UPCOMING)).all()
    audit.record(db.session, "appointment.list", object_type="client", object_id=client.id)
    return rows


def _client_page(client, status: int = 200, **context):
    context.setdefault("form", _record_form(client))
    return _form_page(
        "desk/client.html",
        status,
        client=client,
        upcoming=_upcoming(client),
        upcoming_limit=UPCOMING,
        zone=scheduling.practice_zone(current_user),
        names={user.id: user.name for user in _people()},
        exports=current_user.has_role("owner"),
        done_words=DONE,
        **context,
    )


@bp.route("/desk/clients/<uuid:client_id>", methods=["GET", "POST"])
@desk_pages
def client(client_id: uuid.UUID):
    """A client's record (demographics, status and dates, primary clinician, care team)
    and its edit form; what was typed stays when something is refused."""
    if request.method == "GET":
        done = request.args.get("done") if request.args.get("done") in DONE else None
        return _client_page(client_service.read_client(current_user, client_id), done=done)
    record = client_service.get_client_for(current_user, client_id)
    changes = form_record()
    kept = dict(changes)
    try:
        args = ClientUpdateSchema().load(changes)
    except ValidationError as exc:
        return _client_page(record, 422, form=kept, errors=flat_errors(exc.messages))
    try:
        client_service.update_client(current_user, record, args)
    except client_service.ClientError as exc:
        return _client_page(record, 422, form=kept, errors=flat_errors(exc.errors))
    return redirect(url_for("web_desk.client", client_id=record.id, done="saved"))


@bp.get("/desk/clients/<uuid:client_id>/export")
@desk_pages
def client_export(client_id: uuid.UUID):
    """The record export (owners): demographics, care team, appointments; never notes."""
    body = json.dumps(export.export_client(current_user, client_id), indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="client-{client_id}.json"'},
    )
