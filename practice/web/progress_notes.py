"""Progress notes as pages: start one from the session (appointment or client page), the
form for the whole note, saving against the version it was opened at, signing with a
confirmation, addenda; and the author's own printable copy of their process notes."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.progress_notes import ProgressAddendumCreateSchema
from practice.auth import policy
from practice.errors import Invalid, Stale
from practice.extensions import db
from practice.login import current_actor
from practice.notes.template import words_for_pages
from practice.record import access, codes, own_copy, plans, progress
from practice.record.content import (
    GOAL_RATINGS,
    IDEATION,
    INTERVENTIONS,
    MENTAL_STATUS,
    RISK_LEVELS,
)
from practice.record.models import ProgressNote, TreatmentPlan
from practice.scheduling.models import Appointment
from practice.scheduling.service import practice_zone
from practice.web.clients import initials
from practice.web.pages import clinician_pages, refused
from practice.web.record_form import flat_errors, form_version, progress_content

bp = Blueprint("web_progress", __name__)


def _load(note_id, **kwargs):
    return access.record_item_for(current_actor(), ProgressNote, "progress_note", note_id, **kwargs)


def _title(note, client) -> str:
    return f"Progress note {initials(client)} — {note.session_date.strftime('%-d %b %Y')}"


def _goals(note: ProgressNote, client) -> list[dict]:
    """The goals of the plan the note rates (none without a plan)."""
    plan = db.session.get(TreatmentPlan, note.plan_id) if note.plan_id else None
    return plans.open_content(plan, client).get("goals", []) if plan is not None else []


@bp.get("/appointments/<uuid:appointment_id>/progress-note")
@clinician_pages
def for_appointment(appointment_id):
    """The session's progress note: opened when there is one, else offered to start."""
    actor = current_actor()
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or not policy.in_practice(current_user, appointment):
        policy.deny("appointment", appointment_id)
    client = access.record_client_for(actor, appointment.client_id)
    note = db.session.scalar(
        db.select(ProgressNote).where(ProgressNote.appointment_id == appointment.id)
    )
    if note is not None:
        return redirect(url_for("web_progress.view", progress_note_id=note.id))
    return render_template(
        "record/start.html",
        client=client,
        appointment=appointment,
        zone=practice_zone(current_user),
        writes=policy.can_do_clinical_work(current_user, client),
        title=f"Progress note {initials(client)}",
    )


@bp.post("/clients/<uuid:client_id>/progress-notes")
@clinician_pages
def start(client_id):
    """Start a draft for one of the client's sessions; the form opens."""
    actor = current_actor()
    access.record_client_for(actor, client_id, write=True)  # who may, before what was sent
    try:
        appointment_id = uuid.UUID(request.form.get("appointment_id", ""))
    except ValueError:
        abort(422, "Choose the session the note is for.")
    note = progress.start(actor, client_id, appointment_id, {})
    return redirect(url_for("web_progress.edit", progress_note_id=note["id"]))


@bp.get("/progress-notes/<uuid:progress_note_id>")
@clinician_pages
def view(progress_note_id):
    """The note with its session and addenda; controls only for who may use them."""
    note, client = _load(progress_note_id)
    return _page(note, client)


def _page(note, client, errors=None, typed: str = "", status: int = 200):
    view = progress.read_note(note, client)
    goals = {goal["id"]: goal for goal in _goals(note, client)}
    in_care = policy.can_do_clinical_work(current_user, client)
    return (
        render_template(
            "record/progress.html",
            note=view,
            client=client,
            goals=goals,
            zone=practice_zone(current_user),
            edits=in_care and note.author_id == current_user.id and note.status == "draft",
            addends=in_care and note.status == "signed",
            errors=errors or {},
            typed=typed,
            title=_title(note, client),
        ),
        status,
    )


def _editor(note, client, content, version, *, errors=None, status=200, stale=False):
    listed = codes.codes_of(client.practice_id)
    return (
        render_template(
            "record/progress_edit.html",
            note=note,
            session=progress.session_of(db.session.get(Appointment, note.appointment_id)),
            client=client,
            content=content,
            version=version,
            goals=_goals(note, client),
            service_codes=listed["service_codes"],
            diagnosis_codes=listed["diagnosis_codes"],
            mental_status=MENTAL_STATUS,
            ideation=IDEATION,
            risk_levels=RISK_LEVELS,
            interventions=INTERVENTIONS,
            ratings=GOAL_RATINGS,
            errors=errors or [],
            stale=stale,
            saved=request.args.get("saved") == "1",
            zone=practice_zone(current_user),
            title=_title(note, client),
        ),
        status,
    )


@bp.get("/progress-notes/<uuid:progress_note_id>/edit")
@clinician_pages
def edit(progress_note_id):
    note, client = _load(progress_note_id, write=True)
    if note.status != "draft":
        return redirect(url_for("web_progress.view", progress_note_id=note.id))
    content = progress.read_note(note, client)["content"]
    return _editor(note, client, content, note.version)


@bp.post("/progress-notes/<uuid:progress_note_id>/edit")
@clinician_pages
def save(progress_note_id):
    """Save the draft against the version the form was opened at."""
    note, client = _load(progress_note_id, write=True)
    version = form_version(request.form)
    goal_ids = [goal["id"] for goal in _goals(note, client)]
    content = progress_content(request.form, goal_ids)
    try:
        progress.update(current_actor(), note.id, content, sent={str(version)})
    except ValidationError as exc:
        refused("progress_note.update", "progress_note", note.id)
        return _editor(note, client, content, version, errors=flat_errors(exc.messages), status=422)
    except Invalid as exc:
        refused("progress_note.update", "progress_note", note.id)
        return _editor(note, client, content, version, errors=flat_errors(exc.errors), status=422)
    except Stale:
        refused("progress_note.update", "progress_note", note.id)
        db.session.refresh(note)
        return _editor(note, client, content, note.version, status=409, stale=True)
    return redirect(url_for("web_progress.edit", progress_note_id=note.id, saved=1))


@bp.get("/progress-notes/<uuid:progress_note_id>/sign")
@clinician_pages
def confirm_sign(progress_note_id):
    note, client = _load(progress_note_id, write=True)
    if note.status != "draft":
        return redirect(url_for("web_progress.view", progress_note_id=note.id))
    return render_template(
        "record/sign.html",
        what="progress note",
        version=note.version,
        action=url_for("web_progress.sign", progress_note_id=note.id),
        back=url_for("web_progress.edit", progress_note_id=note.id),
        title=_title(note, client),
    )


@bp.post("/progress-notes/<uuid:progress_note_id>/sign")
@clinician_pages
def sign(progress_note_id):
    """Lock the draft for good, at the version the confirmation was shown for."""
    progress.sign(current_actor(), progress_note_id, sent={str(form_version(request.form))})
    return redirect(url_for("web_progress.view", progress_note_id=progress_note_id))


@bp.post("/progress-notes/<uuid:progress_note_id>/addenda")
@clinician_pages
def addendum(progress_note_id):
    actor = current_actor()
    note, client = _load(progress_note_id, write=True, author=False)
    try:
        args = ProgressAddendumCreateSchema().load({"text": request.form.get("text", "")})
    except ValidationError as exc:
        refused("progress_note.addendum", "progress_note", note.id)
        return _page(note, client, exc.messages, request.form.get("text", ""), 422)
    progress.addendum(actor, note.id, args["text"])
    return redirect(url_for("web_progress.view", progress_note_id=note.id) + "#addenda")


@bp.get("/clients/<uuid:client_id>/own-notes")
@clinician_pages
def own_notes(client_id):
    """Your own copy of your process notes about this client, printable; `?download=1`
    saves it as a file."""
    document = own_copy.own_copy(current_actor(), client_id)
    client_initials = "".join(
        (document["client"][part] or "?")[:1] for part in ("first_name", "last_name")
    ).upper()
    page = render_template(
        "record/own_copy.html",
        document=document,
        title=f"Own copy {client_initials}",
        figure_names=document["figure_names"],
        script_names=document["script_names"],
        **words_for_pages(),
    )
    headers = {}
    if request.args.get("download") == "1":
        headers["Content-Disposition"] = f'attachment; filename="own-notes-{client_id}.html"'
    return page, 200, headers
