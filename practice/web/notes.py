"""Process notes as pages: start a draft, the editor for the whole template, saving with
the version (a stale save shows both texts), signing with a confirmation, addenda."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.notes import AddendumCreateSchema, NoteCreateSchema, NoteReplaceSchema
from practice.api.scripts import ScriptCreateSchema
from practice.clients.models import Client
from practice.errors import Invalid, Stale
from practice.extensions import db
from practice.notes import scripts, service
from practice.notes.template import words_for_pages
from practice.scheduling.service import practice_zone
from practice.web import note_form
from practice.web.clients import initials
from practice.web.pages import clinician_pages, refused

bp = Blueprint("web_notes", __name__)


def _client_of(note) -> Client:
    return db.session.get(Client, note.client_id)


def _title(note, client: Client) -> str:
    return f"Note {initials(client)} — {note.session_date.strftime('%-d %b %Y')}"


@bp.post("/clients/<uuid:client_id>/notes")
@clinician_pages
def new_note(client_id):
    """Start a draft for a session date; the editor opens."""
    service.get_clinical_client_for(current_user, client_id, write=True)  # 404/403 first
    try:
        args = NoteCreateSchema().load({"session_date": request.form.get("session_date", "")})
    except ValidationError:
        abort(422, "Give the session's date (not after tomorrow).")
    view = service.start_note(current_user, client_id, args["session_date"], {})
    return redirect(url_for("web_notes.edit", note_id=view["id"]))


@bp.get("/notes/<uuid:note_id>")
@clinician_pages
def note(note_id):
    """A note with its addenda; the author gets the controls, a supervisor none."""
    return _note_page(service.open_note(current_user, note_id))


def _note_page(opened: service.OpenNote, errors: dict | None = None, typed: str = ""):
    return render_template(
        "notes/note.html",
        note=opened.view,
        client=opened.client,
        title=_title(opened.note, opened.client),
        writes=opened.writable,
        errors=errors or {},
        typed=typed,
        zone=practice_zone(current_user),
        **opened.names,
    )


def _editor(item, client, content, version, *, errors=None, status=200, focus=None, **extra):
    return (
        render_template(
            "notes/edit.html",
            note=item,
            client=client,
            content=content,
            version=version,
            errors=errors or {},
            focus=focus,
            title=_title(item, client),
            **extra,
            **service.editor_references(current_user, client),
            **words_for_pages(),
        ),
        status,
    )


@bp.get("/notes/<uuid:note_id>/edit")
@clinician_pages
def edit(note_id):
    item = service.get_note_for(current_user, note_id, write=True)
    if item.status != "draft":
        return redirect(url_for("web_notes.note", note_id=item.id))
    opened = service.open_note(current_user, note_id, write=True)
    return _editor(
        item,
        opened.client,
        opened.view["content"],
        item.version,
        saved=request.args.get("saved") == "1",
    )


@bp.post("/notes/<uuid:note_id>/edit")
@clinician_pages
def save(note_id):
    """Save the draft against the version it was opened at; add/remove parts first when
    asked (no save then)."""
    item = service.get_note_for(current_user, note_id, write=True)
    client = _client_of(item)
    action = request.form.get("action", "save")
    version_text = request.form.get("version", "")
    version = int(version_text) if version_text.isdigit() else -1
    if item.status != "draft":
        abort(409, "A signed note cannot change; add an addendum instead.")
    if action != "save":
        content, focus = note_form.change_rows(
            note_form.parse(request.form, keep_blank_rows=True), action
        )
        return _editor(
            item,
            client,
            content,
            version,
            focus=focus,
            session_date=request.form.get("session_date"),
        )
    content = note_form.parse(request.form)  # as typed, for showing it again
    to_save, new_scripts = note_form.split_new_scripts(content)
    body = {"content": to_save}
    if request.form.get("session_date"):
        body["session_date"] = request.form["session_date"]
    try:
        args = NoteReplaceSchema().load(body)
        _name_new_scripts(client, args["content"], new_scripts)
        _update(item, args, version)
    except ValidationError as exc:
        return _refused(item, client, content, version, exc.messages)
    except Invalid as exc:
        return _refused(item, client, content, version, exc.errors)
    except Stale:
        return _stale(item, client, content)
    return redirect(url_for("web_notes.edit", note_id=item.id, saved=1))


@bp.post("/notes/<uuid:note_id>/autosave")
@clinician_pages
def autosave(note_id):
    """The editor's periodic save (app.js, while text is being typed): the same schema,
    reference check and version as "Save draft", answered as a one-line status with the
    new version. Never overwrites a newer save (409: "Save draft" then shows both texts),
    and creates no script: a "new script" name waits for "Save draft"."""
    item = service.get_note_for(current_user, note_id, write=True)
    if item.status != "draft":
        return _autosaved(409, "Not saved automatically: this note is signed.")
    version_text = request.form.get("version", "")
    version = int(version_text) if version_text.isdigit() else -1
    content, _names = note_form.split_new_scripts(note_form.parse(request.form))
    body = {"content": content}
    if request.form.get("session_date"):
        body["session_date"] = request.form["session_date"]
    try:
        args = NoteReplaceSchema().load(body)
        _update(item, args, version)
    except (ValidationError, Invalid):
        refused("note.update", "note", item.id)
        return _autosaved(
            422, "Not saved automatically: press “Save draft” to see what needs checking."
        )
    except Stale:
        refused("note.update", "note", item.id)
        return _autosaved(
            409,
            "Not saved automatically: the draft was saved elsewhere since you opened it. "
            "Press “Save draft” to see both texts.",
        )
    at = datetime.now(practice_zone(current_user)).strftime("%H:%M")
    return _autosaved(200, f"Saved automatically at {at}.", item.version)


def _update(item, args: dict, version: int) -> None:
    """Save the draft's content (and date) over the version the form was opened at."""
    service.update_note(
        current_user,
        item.id,
        args["content"],
        sent={str(version)},
        session_date=args.get("session_date"),
    )


def _autosaved(status: int, message: str, version: int | None = None):
    page = render_template("notes/_autosaved.html", message=message, version=version)
    return page, status


def _name_new_scripts(client: Client, content: dict, names: dict[int, str]) -> None:
    """Create the scripts named in episodes ("or name a new script") and link them; the
    API's script schema checks each name. Undone with the request if the save fails."""
    for index, name in names.items():
        payload = ScriptCreateSchema().load({"name": name})
        script = scripts.create_script(
            current_user, client, {"name": payload["name"]}, payload["status"]
        )
        content["relationship_episodes"][index]["script_id"] = str(script.id)


def _refused(item, client, content, version, messages):
    refused("note.update", "note", item.id)
    errors = note_form.flatten_errors(messages)
    errors = {key.removeprefix("content."): value for key, value in errors.items()}
    return _editor(
        item,
        client,
        content,
        version,
        errors=errors,
        status=422,
        session_date=request.form.get("session_date"),
    )


def _stale(item, client, content):
    """Someone saved since this form was opened: show theirs beside yours; yours stays in
    the form, now against the newer version, so saving it is a choice."""
    db.session.refresh(item)
    refused("note.update", "note", item.id)
    theirs = service.read_note(current_user, item.id, write=True)["content"]
    return _editor(
        item,
        client,
        content,
        item.version,
        status=409,
        theirs=theirs,
        session_date=request.form.get("session_date"),
    )


@bp.get("/notes/<uuid:note_id>/sign")
@clinician_pages
def confirm_sign(note_id):
    item = service.get_note_for(current_user, note_id, write=True)
    if item.status != "draft":
        return redirect(url_for("web_notes.note", note_id=item.id))
    client = _client_of(item)
    return render_template("notes/sign.html", note=item, title=_title(item, client))


@bp.post("/notes/<uuid:note_id>/sign")
@clinician_pages
def sign(note_id):
    """Lock the draft for good, at the version the confirmation was shown for."""
    version_text = request.form.get("version", "")
    sent = {version_text if version_text.isdigit() else "-1"}
    service.sign_note_for(current_user, note_id, sent=sent)
    return redirect(url_for("web_notes.note", note_id=note_id))


@bp.post("/notes/<uuid:note_id>/addenda")
@clinician_pages
def addendum(note_id):
    service.get_note_for(current_user, note_id, write=True)  # 404/403 before the text
    try:
        args = AddendumCreateSchema().load({"text": request.form.get("text", "")})
    except ValidationError as exc:
        opened = service.open_note(current_user, note_id)
        return _note_page(opened, exc.messages, request.form.get("text", "")), 422
    service.add_note_addendum(current_user, note_id, args["text"])
    return redirect(url_for("web_notes.note", note_id=note_id) + "#addenda")
