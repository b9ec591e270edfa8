"""A client's figures and scripts as pages: create, edit (scripts against their version),
change a script's status, and merge one script into another after saying what a merge
does. The API's schemas validate the forms; the services decide."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.scripts import ScriptCreateSchema, ScriptMergeSchema, ScriptUpdateSchema
from practice.audit import service as audit
from practice.extensions import db
from practice.keys import client_keys
from practice.notes import figures, rules, scripts, service
from practice.notes.models import SCRIPT_STATUSES
from practice.notes.template import FigurePayloadSchema, vocabularies
from practice.web.clients import initials
from practice.web.note_form import flatten_errors
from practice.web.pages import clinician_pages, refused

bp = Blueprint("web_records", __name__)

SCRIPT_TEXT = ("name", "wish", "response_of_other", "response_of_self", "origin")
FIGURE_FIELDS = ("label", "role", "period")


def _form(names, *, blank_is_none: bool) -> dict:
    """The named fields as typed; blank ones left out, or None (clear it) when editing."""
    values = {}
    for name in names:
        value = request.form.get(name, "").strip()
        if value or blank_is_none:
            values[name] = value or None
    return values


def _back(client_id) -> str:
    return url_for("web_clients.client", client_id=client_id)


def _script_page(client, script, form: dict, version, *, errors=None, status=200, theirs=None):
    page = render_template(
        "records/script_form.html",
        client=client,
        initials=initials(client),
        script=script,
        form=form,
        version=version,
        statuses=SCRIPT_STATUSES,
        errors=errors or {},
        theirs=theirs,
    )
    return page, status


@bp.route("/clients/<uuid:client_id>/scripts/new", methods=["GET", "POST"])
@clinician_pages
def new_script(client_id):
    client = service.get_clinical_client_for(current_user, client_id, write=True)
    if request.method == "GET":
        return _script_page(client, None, {"status": "hypothesis"}, None)
    form = {**_form(SCRIPT_TEXT, blank_is_none=False), "status": request.form.get("status")}
    try:
        args = ScriptCreateSchema().load(form)
    except ValidationError as exc:
        return _script_page(
            client, None, form, None, errors=flatten_errors(exc.messages), status=422
        )
    status = args.pop("status")
    scripts.create_script(current_user, client, args, status)
    return redirect(_back(client.id) + "#h-scripts")


def _script_for_writing(client_id, script_id):
    client = service.get_clinical_client_for(current_user, client_id, write=True)
    script = scripts.get_script(client, script_id)
    if script.merged_into_id is not None:
        abort(409, "A merged script cannot be changed; edit the script it was merged into.")
    return client, script


def _version() -> int:
    text = request.form.get("version", "")
    return int(text) if text.isdigit() else -1


@bp.route("/clients/<uuid:client_id>/scripts/<uuid:script_id>/edit", methods=["GET", "POST"])
@clinician_pages
def edit_script(client_id, script_id):
    """Change a script's words or status against the version it was opened at; a stale
    save shows the newer words beside yours."""
    client, script = _script_for_writing(client_id, script_id)
    current = scripts.script_view(script, client_keys.client_cipher(client))
    if request.method == "GET":
        audit.record(db.session, "script.read", object_type="script", object_id=script.id)
        return _script_page(client, script, current, script.version)
    form = {**_form(SCRIPT_TEXT, blank_is_none=True), "status": request.form.get("status")}
    try:
        args = ScriptUpdateSchema().load(form)
        scripts.update_script(client, script, dict(args), _version())
    except ValidationError as exc:
        refused("script.update", "script", script.id)
        return _script_page(
            client, script, form, _version(), errors=flatten_errors(exc.messages), status=422
        )
    except rules.Stale:
        refused("script.update", "script", script.id)
        return _script_page(client, script, form, script.version, status=409, theirs=current)
    except rules.Conflict as exc:
        abort(409, str(exc))
    return redirect(_back(client.id) + "#h-scripts")


@bp.route("/clients/<uuid:client_id>/scripts/<uuid:script_id>/merge", methods=["GET", "POST"])
@clinician_pages
def merge_script(client_id, script_id):
    """Say what a merge does, then fold this script into the one chosen."""
    client, script = _script_for_writing(client_id, script_id)
    cipher = client_keys.client_cipher(client)
    others = [
        scripts.script_view(s, cipher)
        for s in db.session.scalars(scripts.scripts_query(client))
        if s.id != script.id
    ]
    view = scripts.script_view(script, cipher)
    error = None
    if request.method == "POST":
        try:
            args = ScriptMergeSchema().load({"into_script_id": request.form.get("into", "")})
            if _version() != script.version:
                raise rules.Stale()
            scripts.merge_script(client, script, args["into_script_id"])
        except (ValidationError, rules.Invalid):
            error = "Choose the script to keep."
        except rules.Stale:
            abort(412, "The script changed after you opened this page; open it again.")
        except rules.Conflict as exc:
            abort(409, str(exc))
        else:
            return redirect(_back(client.id) + "#h-scripts")
        refused("script.merge", "script", script.id)
    page = render_template(
        "records/merge.html",
        client=client,
        initials=initials(client),
        script=view,
        others=others,
        error=error,
    )
    return page, 422 if error else 200


def _figure_page(client, figure, form: dict, *, errors=None, status=200):
    words = vocabularies()
    page = render_template(
        "records/figure_form.html",
        client=client,
        initials=initials(client),
        figure=figure,
        form=form,
        roles=[r for r in words["figure_roles"] if r != "therapist"],
        periods=words["figure_periods"],
        errors=errors or {},
    )
    return page, status


@bp.route("/clients/<uuid:client_id>/figures/new", methods=["GET", "POST"])
@clinician_pages
def new_figure(client_id):
    client = service.get_clinical_client_for(current_user, client_id, write=True)
    if request.method == "GET":
        return _figure_page(client, None, {"period": "current"})
    form = _form(FIGURE_FIELDS, blank_is_none=False)
    try:
        figures.create_figure(current_user, client, FigurePayloadSchema().load(form))
    except ValidationError as exc:
        return _figure_page(client, None, form, errors=flatten_errors(exc.messages), status=422)
    except rules.Invalid as exc:
        return _figure_page(client, None, form, errors=exc.errors, status=422)
    return redirect(_back(client.id) + "#h-figures")


@bp.route("/clients/<uuid:client_id>/figures/<uuid:figure_id>/edit", methods=["GET", "POST"])
@clinician_pages
def edit_figure(client_id, figure_id: uuid.UUID):
    client = service.get_clinical_client_for(current_user, client_id, write=True)
    figure = figures.get_figure(client, figure_id)
    if request.method == "GET":
        current = figures.figure_view(figure, client_keys.client_cipher(client))
        return _figure_page(client, figure, current)
    form = _form(FIGURE_FIELDS, blank_is_none=False)
    try:
        changes = FigurePayloadSchema(partial=True).load(form)
        figures.update_figure(client, figure, changes)
    except ValidationError as exc:
        return _figure_page(client, figure, form, errors=flatten_errors(exc.messages), status=422)
    except rules.Invalid as exc:
        return _figure_page(client, figure, form, errors=exc.errors, status=422)
    return redirect(_back(client.id) + "#h-figures")
