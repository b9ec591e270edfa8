"""Theme history as a page: the chart (full script names, who each showed up with),
a window (from / to, drafts), a script's timeline with links to its notes, the
pervasiveness table, and the CSV / SVG downloads (the API's files)."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.themes import ThemeArgs
from practice.measures.lanes import score_lanes
from practice.themes import service as theme_service
from practice.web.clients import initials
from practice.web.pages import clinician_pages

bp = Blueprint("web_themes", __name__)


def _window() -> dict:
    raw = {k: v for k, v in request.args.items() if k in ("from", "to") and v}
    raw["include_drafts"] = request.args.get("drafts") == "1"
    try:
        args = ThemeArgs().load(raw)
    except ValidationError:
        abort(400, "Give the window's dates as calendar dates.")
    if args.get("date_from") and args.get("date_to") and args["date_from"] > args["date_to"]:
        abort(400, "The window is empty: “from” is after “to”.")
    return args


def _history(client_id):
    args = _window()
    client, history = theme_service.theme_history(
        current_user,
        client_id,
        date_from=args.get("date_from"),
        date_to=args.get("date_to"),
        include_drafts=args["include_drafts"],
    )
    return client, args, history


def _query(args: dict) -> dict:
    query = {}
    if args.get("date_from"):
        query["from"] = args["date_from"].isoformat()
    if args.get("date_to"):
        query["to"] = args["date_to"].isoformat()
    if args["include_drafts"]:
        query["include_drafts"] = "true"
    return query


NOTE_SLOT = uuid.UUID(int=0)


def _cell(entry: dict) -> tuple[bool, bool, bool, str]:
    """One chart cell: transference, enacted, rupture, and with whom (or "active")."""
    roles = ", ".join(role.replace("_", " ") for role in entry["figure_roles"])
    return (
        entry["in_transference"],
        entry["enacted"],
        bool(entry["ruptures"]),
        roles or ("active" if entry["active_only"] else ""),
    )


@bp.get("/clients/<uuid:client_id>/themes")
@clinician_pages
def themes(client_id):
    client, args, history = _history(client_id)
    sessions = history["per_session"]
    columns = {entry["note_id"]: i for i, entry in enumerate(sessions)}
    note_href = url_for("web_notes.note", note_id=NOTE_SLOT).replace(str(NOTE_SLOT), "{}")
    heads = [(note_href.format(s["note_id"]), s["session_number"], s["date"][5:]) for s in sessions]
    rows = []
    for script in history["scripts"]:  # cells built here: a template loop costs ten times more
        cells: list = [None] * len(sessions)
        for entry in script["timeline"]:
            if entry["note_id"] in columns:
                cells[columns[entry["note_id"]]] = _cell(entry)
        rows.append((script, cells))
    return render_template(
        "themes/themes.html",
        client=client,
        initials=initials(client),
        history=history,
        sessions=sessions,
        heads=heads,
        rows=rows,
        lanes=score_lanes(history, columns),
        args=args,
        query=_query(args),
    )


@bp.get("/clients/<uuid:client_id>/themes/scripts/<uuid:script_id>")
@clinician_pages
def script(client_id, script_id):
    """One script's timeline: every session it showed up in, linking to the note."""
    client, args, history = _history(client_id)
    found = next((s for s in history["scripts"] if s["script_id"] == str(script_id)), None)
    if found is None:
        abort(404)
    return render_template(
        "themes/script.html",
        client=client,
        initials=initials(client),
        script=found,
        args=args,
        query=_query(args),
    )
