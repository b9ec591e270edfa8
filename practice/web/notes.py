"""Process notes as pages: start a draft, the editor for the whole template, saving with
the version (a stale save shows both texts), signing with a confirmation, addenda."""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.notes import AddendumCreateSchema, NoteCreateSchema, NoteReplaceSchema
from practice.api.scripts import ScriptCreateSchema
from practice.audit import service as audit
from practice.auth import policy
from practice.clients.models import Client
from practice.extensions import db
from practice.keys import client_keys
from practice.notes import rules, scripts, service
from practice.notes.figures import ensure_therapist_figure, figure_view, figures_query
from practice.notes.models import Figure, Script
from practice.notes.scripts import script_view, scripts_query
from practice.notes.template import ccrt_tags, dmrs_defenses, vocabularies
from practice.scheduling.service import practice_zone
from practice.web import note_form
from practice.web.clients import initials
from practice.web.pages import clinician_pages, refused

bp = Blueprint("web_notes", __name__)


def _client_of(note) -> Client:
    return db.session.get(Client, note.client_id)


def _references(client: Client, cipher) -> dict:
    """Figures and scripts of the client, for pickers and for naming them in a note."""
    figures = [figure_view(f, cipher) for f in db.session.scalars(figures_query(client))]
    scripts = [
        script_view(s, cipher)
        for s in db.session.scalars(scripts_query(client, include_merged=True))
    ]
    return {
        "figures": figures,
        "scripts": [s for s in scripts if not s["merged_into_id"]],
        "figure_names": {str(f["id"]): f["label"] for f in figures},
        "script_names": {str(s["id"]): s["name"] for s in scripts},
    }


def _vocab() -> dict:
    words = vocabularies()
    levels = words["defenses"]["levels"]
    return {
        "v": words,
        "reactions": words["countertransference_reactions"]["items"],
        "defense_levels": sorted(levels.items(), key=lambda item: -int(item[0])),
        "tags": ccrt_tags(),
        "defense_names": dmrs_defenses(),
    }


def _title(note, client: Client) -> str:
    return f"Note {initials(client)} — {note.session_date.strftime('%-d %b %Y')}"


@bp.post("/clients/<uuid:client_id>/notes")
@clinician_pages
def new_note(client_id):
    """Start a draft for a session date; the editor opens."""
    client = service.get_clinical_client_for(current_user, client_id, write=True)
    try:
        args = NoteCreateSchema().load({"session_date": request.form.get("session_date", "")})
        note = service.create_note(current_user, client, args["session_date"], {})
    except ValidationError:
        abort(422, "Give the session's date (not after tomorrow).")
    except (rules.Invalid, rules.Conflict) as exc:
        abort(409, str(exc))
    audit.record(db.session, "note.create", object_type="note", object_id=note.id)
    return redirect(url_for("web_notes.edit", note_id=note.id))


@bp.get("/notes/<uuid:note_id>")
@clinician_pages
def note(note_id):
    """A note with its addenda; the author gets the controls, a supervisor none."""
    item = service.get_note_for(current_user, note_id)
    audit.record(db.session, "note.read", object_type="note", object_id=item.id)
    return _note_page(item, _client_of(item))


def _note_page(item, client: Client, errors: dict | None = None, typed: str = ""):
    cipher = client_keys.client_cipher(client)
    addenda = [] if item.status == "draft" else service.addenda_of(item)
    view = service.note_view(item, cipher, addenda)
    return render_template(
        "notes/note.html",
        note=view,
        client=client,
        title=_title(item, client),
        writes=policy.can_write_note(current_user, item),
        errors=errors or {},
        typed=typed,
        zone=practice_zone(current_user),
        **_names_in(client, cipher, view["content"]),
    )


def _names_in(client: Client, cipher, content: dict) -> dict:
    """The names of the figures and scripts a note refers to (only those are unsealed)."""
    figure_ids, script_ids = set(), set(content.get("scripts_active") or ())
    for part in ("relationship_episodes", "enactments", "ruptures"):
        for row in content.get(part) or ():
            figure_ids.add(row.get("figure_id"))
            script_ids.add(row.get("script_id"))
    transference = content.get("transference") or {}
    figure_ids.add(transference.get("therapist_experienced_as"))
    script_ids.add(transference.get("script_id"))
    figures = _ids(figure_ids)
    scripts_named = _ids(script_ids)
    names: dict = {"figure_names": {}, "script_names": {}}
    if figures:
        query = figures_query(client).where(Figure.id.in_(figures))
        names["figure_names"] = {
            str(f.id): figure_view(f, cipher)["label"] for f in db.session.scalars(query)
        }
    if scripts_named:
        query = scripts_query(client, include_merged=True).where(Script.id.in_(scripts_named))
        names["script_names"] = {
            str(s.id): script_view(s, cipher)["name"] for s in db.session.scalars(query)
        }
    return names


def _ids(values) -> set[uuid.UUID]:
    found = set()
    for value in values:
        try:
            found.add(uuid.UUID(str(value)))
        except ValueError:
            continue  # None, or a figure named in words ("therapist experienced as")
    return found


def _editor(item, client, content, version, *, errors=None, status=200, focus=None, **extra):
    ensure_therapist_figure(client, current_user)  # the picker always offers the therapist
    cipher = client_keys.client_cipher(client)
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
            **_references(client, cipher),
            **_vocab(),
        ),
        status,
    )


@bp.get("/notes/<uuid:note_id>/edit")
@clinician_pages
def edit(note_id):
    item = service.get_note_for(current_user, note_id, write=True)
    if item.status != "draft":
        return redirect(url_for("web_notes.note", note_id=item.id))
    client = _client_of(item)
    view = service.note_view(item, client_keys.client_cipher(client))
    audit.record(db.session, "note.read", object_type="note", object_id=item.id)
    return _editor(
        item, client, view["content"], item.version, saved=request.args.get("saved") == "1"
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
        service.replace_note_content(
            item, client, args["content"], version, args.get("session_date")
        )
    except ValidationError as exc:
        return _refused(item, client, content, version, exc.messages)
    except rules.Invalid as exc:
        return _refused(item, client, content, version, exc.errors)
    except rules.Stale:
        return _stale(item, client, content)
    audit.record(db.session, "note.update", object_type="note", object_id=item.id)
    return redirect(url_for("web_notes.edit", note_id=item.id, saved=1))


@bp.post("/notes/<uuid:note_id>/autosave")
@clinician_pages
def autosave(note_id):
    """The editor's periodic save (app.js, while text is being typed): the same schema,
    reference check and version as "Save draft", answered as a one-line status with the
    new version. Never overwrites a newer save (409: "Save draft" then shows both texts),
    and creates no script: a "new script" name waits for "Save draft"."""
    item = service.get_note_for(current_user, note_id, write=True)
    client = _client_of(item)
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
        service.replace_note_content(
            item, client, args["content"], version, args.get("session_date")
        )
    except (ValidationError, rules.Invalid):
        refused("note.update", "note", item.id)
        return _autosaved(
            422, "Not saved automatically: press “Save draft” to see what needs checking."
        )
    except rules.Stale:
        refused("note.update", "note", item.id)
        return _autosaved(
            409,
            "Not saved automatically: the draft was saved elsewhere since you opened it. "
            "Press “Save draft” to see both texts.",
        )
    audit.record(db.session, "note.update", object_type="note", object_id=item.id)
    at = datetime.now(practice_zone(current_user)).strftime("%H:%M")
    return _autosaved(200, f"Saved automatically at {at}.", item.version)


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
    theirs = service.note_view(item, client_keys.client_cipher(client))["content"]
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
    item = service.get_note_for(current_user, note_id, write=True)
    version_text = request.form.get("version", "")
    try:
        service.sign_note(item, int(version_text) if version_text.isdigit() else -1)
    except rules.Stale:
        abort(412, "The draft changed after you opened it; read it again before signing.")
    except rules.Conflict as exc:
        abort(409, str(exc))
    audit.record(db.session, "note.sign", object_type="note", object_id=item.id)
    return redirect(url_for("web_notes.note", note_id=item.id))


@bp.post("/notes/<uuid:note_id>/addenda")
@clinician_pages
def addendum(note_id):
    item = service.get_note_for(current_user, note_id, write=True)
    client = _client_of(item)
    try:
        args = AddendumCreateSchema().load({"text": request.form.get("text", "")})
        added = service.add_addendum(current_user, item, client, args["text"])
    except ValidationError as exc:
        return _note_page(item, client, exc.messages, request.form.get("text", "")), 422
    except rules.Conflict as exc:
        abort(409, str(exc))
    audit.record(db.session, "note.addendum", object_type="note", object_id=item.id)
    audit.record(db.session, "addendum.create", object_type="addendum", object_id=added.id)
    return redirect(url_for("web_notes.note", note_id=item.id) + "#addenda")
