"""Measures as pages: a client's scores (band, change, reliable change, recovery, the risk
flag) and the form that records one instrument for one session, as radio groups."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice import errors
from practice.api.measures import MeasureCreateSchema
from practice.auth import policy
from practice.database import utcnow
from practice.login import current_actor
from practice.measures import service
from practice.measures.definitions import instruments
from practice.measures.models import VOID_REASONS
from practice.web.clients import initials
from practice.web.note_form import flatten_errors
from practice.web.pages import clinician_pages, refused

bp = Blueprint("web_measures", __name__)
# Sessions a form can be recorded for: any up to a week ahead (filled in the waiting room
# or sent before the session).
AHEAD = timedelta(days=7)


@bp.get("/clients/<uuid:client_id>/measures")
@clinician_pages
def scores(client_id):
    """The client's scores by instrument, the risk flags, and a way to record a form."""
    client = service.measures_client_for(current_user, client_id)
    writes = _writes(client)
    report = service.client_report(client)
    return render_template(
        "measures/scores.html",
        client=client,
        initials=initials(client),
        report=report,
        writes=writes,
        instruments=instruments(),
        void_reasons=VOID_REASONS,
    )


@bp.post("/clients/<uuid:client_id>/measures/<uuid:measure_id>/void")
@clinician_pages
def void(client_id, measure_id):
    """Mark a form as entered in error with a reason; back to the scores."""
    client = service.measures_client_for(current_user, client_id, write=True)
    try:
        service.void_measure(current_actor(), client, measure_id, request.form.get("reason"))
    except errors.Invalid:
        refused("measure.void", "measure", measure_id)
        abort(422, "Choose why the form was entered in error.")
    return redirect(url_for("web_measures.scores", client_id=client.id) + f"#m-{measure_id}")


def _writes(client) -> bool:
    return policy.can_do_clinical_work(current_user, client)


def _form() -> dict:
    """The posted form as the API's body: instrument, appointment, {item: value}."""
    instrument = instruments().get(request.form.get("instrument", ""))
    responses = {}
    if instrument is not None:
        for item_id in instrument.item_ids:
            raw = request.form.get(f"item-{item_id}", "")
            # Not a number: kept as typed, for the schema to refuse with its message.
            responses[item_id] = None if raw == "" else _number(raw)
    return {
        "instrument": request.form.get("instrument", ""),
        "appointment_id": request.form.get("appointment_id", ""),
        "responses": responses,
    }


def _number(raw: str):
    try:
        return int(raw) if len(raw) < 6 else raw
    except ValueError:
        return raw


@bp.route("/clients/<uuid:client_id>/measures/new", methods=["GET", "POST"])
@clinician_pages
def record(client_id):
    """Choose an instrument, then answer its items for one of the client's sessions."""
    client = service.measures_client_for(current_user, client_id, write=True)
    known = instruments()
    if request.method == "GET":
        chosen = known.get(request.args.get("instrument", ""))
        picked = request.args.get("appointment", "")
        return _page(client, chosen, {"appointment_id": picked, "responses": {}}, {})
    form = _form()
    chosen = known.get(form["instrument"])
    try:
        args = MeasureCreateSchema().load(form)
        measure = service.record_measure(current_user, client, args)
    except ValidationError as exc:
        refused("measure.create", "client", client.id)
        return _page(client, chosen, form, _flat(exc.messages), status=422)
    except errors.Invalid as exc:
        refused("measure.create", "client", client.id)
        return _page(client, chosen, form, _flat(exc.errors), status=422)
    except errors.Conflict as exc:
        refused("measure.create", "client", client.id)
        return _page(client, chosen, form, {"appointment_id": [exc.message]}, status=409)
    return redirect(url_for("web_measures.scores", client_id=client.id) + f"#m-{measure.id}")


def _flat(messages: dict) -> dict:
    """Field errors keyed as the form names its controls (item-9, appointment_id, …)."""
    out: dict[str, list[str]] = {}
    for key, words in flatten_errors(messages).items():
        top, _, rest = key.partition(".")
        item = rest.partition(".")[0]
        name = f"item-{item}" if top == "responses" and item not in ("", "responses") else top
        out.setdefault(name, []).extend(words)
    return out


def _page(client, instrument, form: dict, field_errors: dict, status: int = 200):
    zone = current_user.practice.zone
    page = render_template(
        "measures/record.html",
        client=client,
        initials=initials(client),
        instrument=instrument,
        instruments=instruments(),
        sessions=service.session_choices(client, zone, until=utcnow() + AHEAD),
        form=form,
        errors=field_errors,
    )
    return page, status
