"""Theme history of a client: JSON, CSV and an SVG chart.

Who sees what: the client's assigned clinicians and the supervisors of one (see
notes.access.theme_authors_for); a clinician sees the history of their own notes, a supervisor that
of their supervisees' notes while the link exists (both, for a clinician who is also a
supervisor). Owners, schedulers and anyone no longer in the client's care get 404.
Every read is audited with ids only.
"""

from __future__ import annotations

import uuid

import orjson
from flask import Response
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from practice.api.measures import RupturesSchema, ScoreLaneSchema
from practice.api.openapi import FILE
from practice.themes import service as themes
from practice.themes.formats import history_csv, history_svg

blp = Blueprint(
    "themes",
    __name__,
    url_prefix="/api/v1/clients",
    description="Theme history: how a client's scripts recur across sessions",
)


class ThemeArgs(Schema):
    date_from = fields.Date(data_key="from", metadata={"description": "first session date"})
    date_to = fields.Date(data_key="to", metadata={"description": "last session date"})
    include_drafts = fields.Boolean(load_default=False)


class SeenSchema(Schema):
    date = fields.String()
    session_number = fields.Integer()
    note_id = fields.String()


class TimelineSchema(SeenSchema):
    figure_roles = fields.List(fields.String())
    in_transference = fields.Boolean()
    enacted = fields.Boolean()
    episodes = fields.Integer()
    ruptures = fields.Integer()
    active_only = fields.Boolean()


class NegativeShareSchema(Schema):
    of_other = fields.Float(allow_none=True)
    of_self = fields.Float(allow_none=True)
    trend = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class ScriptThemeSchema(Schema):
    script_id = fields.String()
    name = fields.String()
    status = fields.String()
    sessions_observed = fields.Integer()
    first_seen = fields.Nested(SeenSchema, allow_none=True)
    last_seen = fields.Nested(SeenSchema, allow_none=True)
    sessions_since_last_seen = fields.Integer(allow_none=True)
    recurrence_rate = fields.Float(allow_none=True)
    by_figure_role = fields.Dict(keys=fields.String(), values=fields.Integer())
    distinct_figures = fields.Integer()
    past_vs_current = fields.Dict(keys=fields.String(), values=fields.Integer())
    transference_count = fields.Integer()
    enactment_count = fields.Integer()
    rupture_count = fields.Integer()
    negative_response_share = fields.Nested(NegativeShareSchema)
    timeline = fields.List(fields.Nested(TimelineSchema))


class PervasiveItemSchema(Schema):
    kind = fields.String(metadata={"description": "tag or script"})
    value = fields.String()
    script_id = fields.String()
    episodes = fields.Integer()
    share = fields.Float(allow_none=True)


class PervasivenessSchema(Schema):
    label = fields.String()
    episodes = fields.Integer()
    wish = fields.List(fields.Nested(PervasiveItemSchema))
    response_of_other = fields.List(fields.Nested(PervasiveItemSchema))
    response_of_self = fields.List(fields.Nested(PervasiveItemSchema))


class SessionCountsSchema(Schema):
    date = fields.String()
    session_number = fields.Integer()
    note_id = fields.String()
    episodes = fields.Integer()
    transference = fields.Integer()
    enactments = fields.Integer()
    ruptures = fields.Integer()
    scores = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "instrument id → the score recorded for this session"},
    )


class ThemeHistorySchema(Schema):
    client_id = fields.String()
    date_from = fields.String(data_key="from", attribute="from", allow_none=True)
    date_to = fields.String(data_key="to", attribute="to", allow_none=True)
    sessions = fields.Integer()
    episodes = fields.Integer()
    scripts = fields.List(fields.Nested(ScriptThemeSchema))
    pervasiveness = fields.Nested(PervasivenessSchema)
    per_session = fields.List(fields.Nested(SessionCountsSchema))
    ruptures = fields.Nested(RupturesSchema)
    measures = fields.List(fields.Nested(ScoreLaneSchema))


def _history(client_id: uuid.UUID, args: dict, action: str) -> dict:
    _client, history = themes.theme_history(
        current_user,
        client_id,
        date_from=args.get("date_from"),
        date_to=args.get("date_to"),
        include_drafts=args["include_drafts"],
        action=action,
    )
    return history


def _filename(client_id: uuid.UUID, args: dict, ext: str) -> str:
    window = "".join(
        f"-{key}-{args[name].isoformat()}"
        for key, name in (("from", "date_from"), ("to", "date_to"))
        if args.get(name)
    )
    return f"themes-{client_id}{window}.{ext}"


def _export(client_id: uuid.UUID, args: dict, render, mimetype: str, ext: str, disposition: str):
    """The history rendered as a file (audited as an export), named after client and window."""
    response = Response(render(_history(client_id, args, "themes.export")), mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'{disposition}; filename="{_filename(client_id, args, ext)}"'
    )
    return response


@blp.route("/<uuid:client_id>/themes")
class Themes(MethodView):
    @login_required
    @blp.arguments(ThemeArgs, location="query")
    @blp.response(200, ThemeHistorySchema)
    def get(self, args, client_id):
        """Theme history of the client (JSON)."""
        # Already JSON-ready plain data (shape documented by ThemeHistorySchema): a schema
        # dump, or even json.dumps, of thousands of timeline entries would cost about as
        # much as decrypting the notes; orjson takes a tenth of that.
        body = orjson.dumps(_history(client_id, args, "themes.read"))
        return Response(body, mimetype="application/json")


@blp.route("/<uuid:client_id>/themes.csv")
class ThemesCsv(MethodView):
    @login_required
    @blp.arguments(ThemeArgs, location="query")
    @blp.response(200, FILE, content_type="text/csv", description="One row per script per session.")
    def get(self, args, client_id):
        """Theme history as CSV: one row per script per session where it was observed."""
        return _export(client_id, args, history_csv, "text/csv", "csv", "attachment")


@blp.route("/<uuid:client_id>/themes.svg")
class ThemesSvg(MethodView):
    @login_required
    @blp.arguments(ThemeArgs, location="query")
    @blp.response(200, FILE, content_type="image/svg+xml", description="Scripts by sessions.")
    def get(self, args, client_id):
        """Theme history as an SVG chart: scripts by sessions."""
        return _export(client_id, args, history_svg, "image/svg+xml", "svg", "inline")
