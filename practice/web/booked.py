"""One booked appointment at the front desk: what it is, moving or changing it (this one,
this and the following, or the whole series — with how many change and which are left
alone said beforehand), cancel, late-cancel, no-show or attended with who and why, and
undoing a cancellation while the slot is still free. Each write is the API's PATCH,
through the same schema and service (scheduling/changes.py)."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.appointments import AppointmentUpdateSchema
from practice.auth.models import User
from practice.clients.models import Client
from practice.errors import Conflict, DomainError, Invalid
from practice.extensions import db
from practice.scheduling import changes, service
from practice.scheduling.models import (
    CANCEL_CATEGORIES,
    CANCELLED_BY,
    KINDS,
    MODALITIES,
    Appointment,
)
from practice.scheduling.scope_preview import scope_preview
from practice.web.booking import conflict_rows, local_start, schema_errors
from practice.web.frontdesk import rooms_of_practice
from practice.web.pages import desk_pages

bp = Blueprint("web_booked", __name__)

OUTCOMES = {
    "cancelled": "Cancelled",
    "late_cancelled": "Late cancellation",
    "no_show": "No-show",
    "attended": "Attended",
}
DONE = {
    "booked": "Booked",
    "changed": "Changed",
    "status": "Recorded",
    "restored": "The cancellation is undone: the appointment is scheduled again.",
}
CHANGE_FIELDS = ("date", "time", "fold", "duration_minutes", "room_id", "kind", "modality")
STATUS_FIELDS = ("status", "cancelled_by", "cancel_category", "cancel_reason")


def _current_values(appointment: Appointment, zone) -> dict:
    starts = appointment.starts_at.astimezone(zone)
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    return {
        "date": starts.date().isoformat(),
        "time": starts.strftime("%H:%M"),
        "duration_minutes": str(minutes),
        "room_id": str(appointment.room_id) if appointment.room_id else "",
        "kind": appointment.kind,
        "modality": appointment.modality,
        "scope": "this",
    }


def _render(appointment: Appointment, status: int = 200, **context):
    zone = service.practice_zone(current_user)
    client = db.session.get(Client, appointment.client_id)
    clinician = db.session.get(User, appointment.clinician_id)
    rooms = rooms_of_practice(current_user, {appointment.room_id} - {None})
    preview = scope_preview(appointment) if appointment.status == "scheduled" else {}
    context.setdefault("values", _current_values(appointment, zone))
    context.setdefault("status_values", {"scope": "this"})
    context.setdefault("errors", {})
    context.setdefault("status_errors", {})
    done = request.args.get("done")
    page = render_template(
        "frontdesk/appointment.html",
        a=appointment,
        client=client,
        clinician=clinician,
        starts=appointment.starts_at.astimezone(zone),
        ends=appointment.ends_at.astimezone(zone),
        zone=zone.key,
        room_names={r.id: r.name for r in rooms},
        room_options=[(r.id, r.name) for r in rooms if r.active or r.id == appointment.room_id],
        kind_options=[(k, k.replace("_", " ")) for k in KINDS],
        modality_options=[(m, m.replace("_", " ")) for m in MODALITIES],
        outcomes=OUTCOMES,
        by_options=[(who, f"the {who}") for who in CANCELLED_BY],
        cat_options=[(c, c.replace("_", " ")) for c in CANCEL_CATEGORIES],
        preview={
            scope: {k: [v.starts_at.astimezone(zone) for v in items] for k, items in p.items()}
            for scope, p in preview.items()
        },
        cancelled=appointment.status in changes.CANCELLATIONS,
        done=DONE.get(done),
        done_count=request.args.get("n", type=int),
        **context,
    )
    return page, status


def _appointment(appointment_id: uuid.UUID) -> Appointment:
    return service.get_appointment_for(current_user, appointment_id)


@bp.get("/bookings/<uuid:appointment_id>")
@desk_pages
def appointment(appointment_id: uuid.UUID):
    """The appointment, with its change, outcome and undo forms."""
    return _render(service.read_appointment(current_user, appointment_id))


def _scope(text: str | None, item: Appointment) -> str | None:
    if text in (None, "", "this"):
        return "this" if item.series_id is not None else None
    if text not in changes.SCOPES:
        abort(400, "Choose which appointments of the series change.")
    return text


def _apply(item: Appointment, patch: dict, scope, done: str, errors_key: str, **context):
    """PATCH through the service and go back to the page saying what changed; a refusal
    shows the page again, saying why nothing changed (a Conflict is audited by the
    service) and listing what is in the way."""
    try:
        changed = changes.change(current_user, item, patch, scope)
    except (Invalid, Conflict) as error:
        return _refusal(item, error, errors_key, **context)
    return redirect(
        url_for("web_booked.appointment", appointment_id=item.id, done=done, n=len(changed))
    )


def _refusal(item, error: DomainError, errors_key: str, **context):
    zone = service.practice_zone(current_user)
    clashes = getattr(error, "clashes", None)
    if clashes:
        context["conflicts"] = conflict_rows(clashes, zone)
    if isinstance(error, Invalid) and error.errors:
        context[errors_key] = schema_errors(error.errors)
    else:
        context["refusal"] = error.message
    return _render(item, 409 if isinstance(error, Conflict) else 422, **context)


@bp.post("/bookings/<uuid:appointment_id>/change")
@desk_pages
def change(appointment_id: uuid.UUID):
    """Move or change it; for a series member, this / this and following / the series."""
    item = _appointment(appointment_id)
    zone = service.practice_zone(current_user)
    current = _current_values(item, zone)
    # A field left out of the form stays as it is.
    values = {name: request.form.get(name, current.get(name, "")).strip() for name in CHANGE_FIELDS}
    values["scope"] = request.form.get("scope", "this")
    scope = _scope(values["scope"], item)
    errors: dict = {}
    patch: dict = {}
    if (values["date"], values["time"]) != (current["date"], current["time"]):
        starts_at = local_start(values, errors, zone)
        if starts_at is not None:
            patch["starts_at"] = starts_at.isoformat()
    for name in ("duration_minutes", "room_id", "kind", "modality"):
        if values[name] != current[name]:
            patch[name] = values[name] or None
    if "duration_minutes" in patch:
        try:
            patch["duration_minutes"] = int(patch["duration_minutes"] or "")
        except ValueError:
            errors["duration_minutes"] = ["Enter a whole number."]
    fold_choices = errors.pop("fold_choices", None)
    if not errors:
        if not patch:
            errors["form"] = ["Nothing was changed: edit a field first."]
        else:
            try:
                loaded = AppointmentUpdateSchema().load(patch)
            except ValidationError as error:
                errors = schema_errors(error.messages)
    if errors:
        return _render(item, 422, values=values, errors=errors, fold_choices=fold_choices)
    return _apply(item, loaded, scope, "changed", "errors", values=values)


@bp.post("/bookings/<uuid:appointment_id>/status")
@desk_pages
def outcome(appointment_id: uuid.UUID):
    """Cancelled, late-cancelled (who and why), no-show or attended."""
    item = _appointment(appointment_id)
    values = {name: request.form.get(name, "").strip() for name in STATUS_FIELDS}
    values["scope"] = request.form.get("scope", "this")
    scope = _scope(values["scope"], item)
    if values["status"] not in OUTCOMES:
        errors = {"status": ["Choose what happened."]}
        return _render(item, 422, status_values=values, status_errors=errors)
    patch = {name: value for name, value in values.items() if value and name in STATUS_FIELDS}
    try:
        loaded = AppointmentUpdateSchema().load(patch)
    except ValidationError as error:
        errors = schema_errors(error.messages)
        return _render(item, 422, status_values=values, status_errors=errors)
    return _apply(item, loaded, scope, "status", "status_errors", status_values=values)


@bp.post("/bookings/<uuid:appointment_id>/undo")
@desk_pages
def undo(appointment_id: uuid.UUID):
    """Undo a cancellation (the API's PATCH status "scheduled"): only while the slot is free."""
    item = _appointment(appointment_id)
    patch = {"status": "scheduled"}
    return _apply(item, patch, None, "restored", "status_errors")
