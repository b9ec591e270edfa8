"""Scripts: a client's recurring relational patterns (CCRT / CMP), encrypted.

The assigned clinician reads and writes; a supervisor of an assigned clinician reads;
everyone else gets 404. PATCH and merge need If-Match (never `*`); a merged script no
longer changes.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from practice.api.common import PageArgs, audit_refusals, etag, page_of, paginate, require_if_match
from practice.api.notes import refuse
from practice.api.openapi import if_match
from practice.audit import service as audit
from practice.extensions import db
from practice.keys import client_keys
from practice.notes import rules, scripts, service
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


def _view(client, script) -> tuple[dict, int, dict]:
    return scripts.script_view(script, client_keys.client_cipher(client)), 200, etag(script.version)


def _payload(args: dict) -> dict:
    return {key: args[key] for key in SCRIPT_PAYLOAD_KEYS if key in args}


@blp.route("/<uuid:client_id>/scripts")
class Scripts(MethodView):
    decorators = [login_required]

    @blp.arguments(ScriptListArgs, location="query")
    @blp.response(200, page_of(ScriptSchema))
    def get(self, args, client_id):
        """The client's scripts (merged ones only with include_merged=true)."""
        client = service.get_clinical_client_for(current_user, client_id)
        query = scripts.scripts_query(
            client, status=args.get("status"), include_merged=args["include_merged"]
        )
        page = paginate(query, args)
        cipher = client_keys.client_cipher(client)
        audit.record(db.session, "script.list", object_type="client", object_id=client.id)
        return {**page, "items": [scripts.script_view(s, cipher) for s in page["items"]]}

    @blp.arguments(ScriptCreateSchema)
    @blp.response(201, ScriptSchema)
    def post(self, args, client_id):
        """Name a new script (status hypothesis unless given)."""
        client = service.get_clinical_client_for(current_user, client_id, write=True)
        script = scripts.create_script(current_user, client, _payload(args), args["status"])
        view, _status, headers = _view(client, script)
        return view, 201, headers


@blp.route("/<uuid:client_id>/scripts/<uuid:script_id>")
class ScriptItem(MethodView):
    decorators = [login_required]

    @blp.response(200, ScriptSchema)
    def get(self, client_id, script_id):
        """One script (ETag = version)."""
        client = service.get_clinical_client_for(current_user, client_id)
        script = scripts.get_script(client, script_id)
        audit.record(db.session, "script.read", object_type="script", object_id=script.id)
        return _view(client, script)

    @blp.arguments(ScriptUpdateSchema)
    @blp.response(200, ScriptSchema)
    @blp.alt_response(409, description="The script was merged into another")
    @if_match
    def patch(self, args, client_id, script_id):
        """Change a script's words or status; send If-Match with the version you read."""
        client = service.get_clinical_client_for(current_user, client_id, write=True)
        script = scripts.get_script(client, script_id)
        if script.merged_into_id is not None:
            abort(409, message="A merged script cannot be changed; edit its survivor.")
        require_if_match(script.version)
        changes = _payload(args)
        if "status" in args:
            changes["status"] = args["status"]
        try:
            scripts.update_script(client, script, changes, script.version)
        except (rules.Conflict, rules.Stale) as exc:
            refuse(exc)
        return _view(client, script)


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
        client = service.get_clinical_client_for(current_user, client_id, write=True)
        script = scripts.get_script(client, script_id)
        if script.merged_into_id is not None:
            abort(409, message="This script was already merged.")
        require_if_match(script.version)
        try:
            scripts.merge_script(client, script, args["into_script_id"])
        except (rules.Invalid, rules.Conflict, rules.Stale) as exc:
            refuse(exc)
        return _view(client, script)
