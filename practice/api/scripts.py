"""Scripts: a client's recurring relational patterns (CCRT / CMP), encrypted.

The assigned clinician reads and writes; a supervisor of an assigned clinician reads;
everyone else gets 404. PATCH and merge need If-Match (never `*`); a merged script no
longer changes.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from practice.api.common import PageArgs, audit_refusals, etag, page_of, sent_versions
from practice.api.openapi import if_match
from practice.notes import scripts
from practice.notes.models import SCRIPT_STATUSES
from practice.notes.template import SCRIPT_PAYLOAD_KEYS, CmpSchema, ScriptPayloadSchema

blp = Blueprint(
    "scripts", __name__, url_prefix="/api/v1/clients", description="A client's recurring scripts"
)
blp.after_request(audit_refusals)


class ScriptCreateSchema(ScriptPayloadSchema):
    status = fields.String(load_default="hypothesis", validate=validate.OneOf(SCRIPT_STATUSES))


class ScriptUpdateSchema(ScriptPayloadSchema):
    """Any subset of the fields; null clears an optional one."""

    keep_none = True
    name = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(SCRIPT_STATUSES))


class ScriptMergeSchema(Schema):
    into_script_id = fields.UUID(required=True)


class ScriptListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(SCRIPT_STATUSES))
    include_merged = fields.Boolean(load_default=False)


class ScriptSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    status = fields.String()
    version = fields.Integer()
    merged_into_id = fields.UUID(allow_none=True)
    name = fields.String()
    wish = fields.String()
    response_of_other = fields.String()
    response_of_self = fields.String()
    origin = fields.String()
    wish_tag = fields.String()
    ro_tag = fields.String()
    rs_tag = fields.String()
    cmp = fields.Nested(CmpSchema)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


def _answer(view: dict) -> tuple[dict, int, dict]:
    """The script as shown, with its version as the ETag."""
    return view, 200, etag(view["version"])


def _payload(args: dict) -> dict:
    return {key: args[key] for key in SCRIPT_PAYLOAD_KEYS if key in args}


@blp.route("/<uuid:client_id>/scripts")
class Scripts(MethodView):
    decorators = [login_required]

    @blp.arguments(ScriptListArgs, location="query")
    @blp.response(200, page_of(ScriptSchema))
    def get(self, args, client_id):
        """The client's scripts (merged ones only with include_merged=true)."""
        return scripts.list_scripts(
            current_user,
            client_id,
            page=args["page"],
            page_size=args["page_size"],
            status=args.get("status"),
            include_merged=args["include_merged"],
        )

    @blp.arguments(ScriptCreateSchema)
    @blp.response(201, ScriptSchema)
    def post(self, args, client_id):
        """Name a new script (status hypothesis unless given)."""
        view = scripts.start_script(current_user, client_id, _payload(args), args["status"])
        return view, 201, etag(view["version"])


@blp.route("/<uuid:client_id>/scripts/<uuid:script_id>")
class ScriptItem(MethodView):
    decorators = [login_required]

    @blp.response(200, ScriptSchema)
    def get(self, client_id, script_id):
        """One script (ETag = version)."""
        return _answer(scripts.read_script(current_user, client_id, script_id))

    @blp.arguments(ScriptUpdateSchema)
    @blp.response(200, ScriptSchema)
    @blp.alt_response(409, description="The script was merged into another")
    @if_match
    def patch(self, args, client_id, script_id):
        """Change a script's words or status; send If-Match with the version you read."""
        changes = _payload(args)
        if "status" in args:
            changes["status"] = args["status"]
        view = scripts.change_script(
            current_user, client_id, script_id, changes, sent=sent_versions()
        )
        return _answer(view)


@blp.route("/<uuid:client_id>/scripts/<uuid:script_id>/merge")
class ScriptMerge(MethodView):
    decorators = [login_required]

    @blp.arguments(ScriptMergeSchema)
    @blp.response(200, ScriptSchema)
    @blp.alt_response(409, description="The script (or its survivor) was merged already")
    @if_match
    def post(self, args, client_id, script_id):
        """Merge this script into another of the client's; it then points to the survivor.
        Send If-Match with the version you read."""
        view = scripts.merge_into(
            current_user, client_id, script_id, args["into_script_id"], sent=sent_versions()
        )
        return _answer(view)
