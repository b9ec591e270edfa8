"""A client's figures and scripts as pages: create, edit (scripts against their version),
change a script's status, and merge one script into another after saying what a merge
does. The API's schemas validate the forms; the services decide."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.scripts import ScriptCreateSchema, ScriptMergeSchema, ScriptUpdateSchema
from practice.errors import Invalid, Stale
from practice.notes import figures, scripts, service
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
    if request.method == "GET":
        current = scripts.read_script(current_user, client_id, script_id)
        return _script_page(client, script, current, script.version)
    form = {**_form(SCRIPT_TEXT, blank_is_none=True), "status": request.form.get("status")}
    try:
        args = ScriptUpdateSchema().load(form)
        sent = {str(_version())}
        scripts.change_script(current_user, client_id, script_id, dict(args), sent=sent)
    except ValidationError as exc:
        refused("script.update", "script", script.id)
        return _script_page(
            client, script, form, _version(), errors=flatten_errors(exc.messages), status=422
        )
    except Stale:
        refused("script.update", "script", script.id)
        theirs = scripts.read_script(current_user, client_id, script_id)
        return _script_page(client, script, form, script.version, status=409, theirs=theirs)
    return redirect(_back(client.id) + "#h-scripts")


@bp.route("/clients/<uuid:client_id>/scripts/<uuid:script_id>/merge", methods=["GET", "POST"])
@clinician_pages
def merge_script(client_id, script_id):
    """Say what a merge does, then fold this script into the one chosen."""
    client, script = _script_for_writing(client_id, script_id)
    error = None
    if request.method == "POST":
        try:
            args = ScriptMergeSchema().load({"into_script_id": request.form.get("into", "")})
            into, sent = args["into_script_id"], {str(_version())}
            scripts.merge_into(current_user, client_id, script_id, into, sent=sent)
        except (ValidationError, Invalid):
            error = "Choose the script to keep."
        else:
            return redirect(_back(client.id) + "#h-scripts")
        refused("script.merge", "script", script.id)
    view, others = scripts.merge_candidates(current_user, client_id, script_id)
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
    except Invalid as exc:
        return _figure_page(client, None, form, errors=exc.errors, status=422)
    return redirect(_back(client.id) + "#h-figures")


@bp.route("/clients/<uuid:client_id>/figures/<uuid:figure_id>/edit", methods=["GET", "POST"])
@clinician_pages
def edit_figure(client_id, figure_id: uuid.UUID):
    client = service.get_clinical_client_for(current_user, client_id, write=True)
    figure = figures.get_figure(client, figure_id)
    if request.method == "GET":
        current = figures.read_figure(current_user, client_id, figure_id, write=True)
        return _figure_page(client, figure, current)
    form = _form(FIGURE_FIELDS, blank_is_none=False)
    try:
        changes = FigurePayloadSchema(partial=True).load(form)
        figures.update_figure(client, figure, changes)
    except ValidationError as exc:
        return _figure_page(client, figure, form, errors=flatten_errors(exc.messages), status=422)
    except Invalid as exc:
        return _figure_page(client, figure, form, errors=exc.errors, status=422)
    return redirect(_back(client.id) + "#h-figures")
