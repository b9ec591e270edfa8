"""Progress notes as pages: start one from the session (appointment or client page), the
form for the whole note, saving against the version it was opened at, signing with a
confirmation, addenda; and the author's own printable copy of their process notes."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.progress_notes import ProgressAddendumCreateSchema
from practice.errors import Invalid, Stale
from practice.extensions import db
from practice.login import current_actor
from practice.notes.template import words_for_pages
from practice.record import access, own_copy, pages, progress
from practice.record.content import (
    GOAL_RATINGS,
    IDEATION,
    INTERVENTIONS,
    MENTAL_STATUS,
    RISK_LEVELS,
)
from practice.scheduling.service import practice_zone
from practice.web.clients import initials
from practice.web.pages import clinician_pages, refused
from practice.web.record_form import (
    field_words,
    flat_errors,
    form_version,
    progress_content,
    sign_confirmation,
)

bp = Blueprint("web_progress", __name__)
bp.add_app_template_filter(field_words, "field_words")  # the record forms' error summary


def _title(note, client) -> str:
    return f"Progress note {initials(client)} — {note.session_date.strftime('%-d %b %Y')}"


@bp.get("/appointments/<uuid:appointment_id>/progress-note")
@clinician_pages
def for_appointment(appointment_id):
    """The session's progress note: opened when there is one, else offered to start."""
    found = pages.session_note(current_actor(), appointment_id)
    if found["note_id"] is not None:
        return redirect(url_for("web_progress.view", progress_note_id=found["note_id"]))
    return render_template(
        "record/start.html",
        client=found["client"],
        appointment=found["appointment"],
        zone=practice_zone(current_user),
        writes=found["writes"],
        title=f"Progress note {initials(found['client'])}",
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
    return _page(pages.progress_page(current_actor(), progress_note_id))


def _page(found: dict, errors=None, typed: str = "", status: int = 200):
    return (
        render_template(
            "record/progress.html",
            note=found["note"],
            client=found["client"],
            goals=found["goals"],
            zone=practice_zone(current_user),
            edits=found["edits"],
            addends=found["addends"],
            errors=errors or {},
            typed=typed,
            title=_title(found["row"], found["client"]),
        ),
        status,
    )


def _editor(found: dict, content=None, version=None, *, errors=None, status=200, stale=False):
    """The editor: `found` from pages.progress_editor; `content` and `version` as posted
    when a save is answered with the form again."""
    note, client = found["row"], found["client"]
    return (
        render_template(
            "record/progress_edit.html",
            note=note,
            session=found["session"],
            client=client,
            content=found["content"] if content is None else content,
            version=found["version"] if version is None else version,
            goals=found["goals"],
            service_codes=found["service_codes"],
            diagnosis_codes=found["diagnosis_codes"],
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
    found = pages.progress_editor(current_actor(), progress_note_id)
    if found["row"].status != "draft":
        return redirect(url_for("web_progress.view", progress_note_id=progress_note_id))
    return _editor(found)


@bp.post("/progress-notes/<uuid:progress_note_id>/edit")
@clinician_pages
def save(progress_note_id):
    """Save the draft against the version the form was opened at."""
    actor = current_actor()
    found = pages.progress_editor(actor, progress_note_id)  # the goals the form rates
    version = form_version(request.form)
    content = progress_content(request.form, [goal["id"] for goal in found["goals"]])
    try:
        progress.update(actor, progress_note_id, content, sent={str(version)})
    except ValidationError as exc:
        refused("progress_note.update", "progress_note", progress_note_id)
        return _editor(found, content, version, errors=flat_errors(exc.messages), status=422)
    except Invalid as exc:
        refused("progress_note.update", "progress_note", progress_note_id)
        return _editor(found, content, version, errors=flat_errors(exc.errors), status=422)
    except Stale:
        refused("progress_note.update", "progress_note", progress_note_id)
        db.session.refresh(found["row"])
        return _editor(found, content, found["row"].version, status=409, stale=True)
    return redirect(url_for("web_progress.edit", progress_note_id=progress_note_id, saved=1))


@bp.get("/progress-notes/<uuid:progress_note_id>/sign")
@clinician_pages
def confirm_sign(progress_note_id):
    found = pages.draft_to_sign(current_actor(), "progress_note", progress_note_id)
    note, client = found["row"], found["client"]
    return sign_confirmation(
        note, "progress note", "web_progress", "progress_note_id", _title(note, client)
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
    typed = request.form.get("text", "")
    try:
        args = ProgressAddendumCreateSchema().load({"text": typed})
    except ValidationError as exc:
        found = pages.addendum_page(actor, progress_note_id)  # who may, before the answer
        refused("progress_note.addendum", "progress_note", progress_note_id)
        return _page(found, exc.messages, typed, 422)
    progress.addendum(actor, progress_note_id, args["text"])
    return redirect(url_for("web_progress.view", progress_note_id=progress_note_id) + "#addenda")


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
