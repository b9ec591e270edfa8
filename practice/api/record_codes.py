"""The practice's record codes (service codes, diagnosis quick picks) and the clinical
record's vocabularies; and the author's own copy of their process notes."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from practice.api.common import audit_refusals
from practice.api.notes import NoteSchema
from practice.auth import policy
from practice.login import current_actor
from practice.record import codes, own_copy
from practice.record.content import diagnosis_code, service_code, vocabularies

blp = Blueprint(
    "record_codes",
    __name__,
    url_prefix="/api/v1",
    description="Record codes, record vocabularies, and the author's own copy of notes",
)
blp.after_request(audit_refusals)


def _distinct(values):
    if len(set(values)) != len(values):
        raise validate.ValidationError("A code is listed twice.")


class RecordCodesSchema(Schema):
    service_codes = fields.List(
        fields.String(validate=service_code),
        required=True,
        validate=[validate.Length(min=1, max=100), _distinct],
    )
    diagnosis_codes = fields.List(
        fields.String(validate=diagnosis_code),
        required=True,
        validate=[validate.Length(max=500), _distinct],
    )
    vocabularies = fields.Dict(dump_only=True, metadata={"description": "Quick-pick lists"})


@blp.route("/record-codes")
class RecordCodes(MethodView):
    decorators = [login_required]

    @blp.response(200, RecordCodesSchema)
    def get(self):
        """The practice's service codes and diagnosis quick picks, and the record's
        quick-pick vocabularies (mental status, risk, interventions, goal ratings)."""
        return {**codes.codes_of(current_user.practice_id), "vocabularies": vocabularies()}

    @blp.arguments(RecordCodesSchema)
    @blp.response(200, RecordCodesSchema)
    def put(self, args):
        """Replace the practice's lists (owners). Notes already written keep their codes."""
        if not current_user.has_role("owner"):
            policy.deny("route", forbidden=True, message="Only owners change the record codes.")
        saved = codes.set_codes(
            current_user.practice_id, args["service_codes"], args["diagnosis_codes"]
        )
        return {**saved, "vocabularies": vocabularies()}


class OwnCopyAuthorSchema(Schema):
    id = fields.UUID()
    name = fields.String()


class OwnCopyClientSchema(Schema):
    id = fields.UUID()
    first_name = fields.String()
    last_name = fields.String()
    date_of_birth = fields.Date(allow_none=True)


class OwnCopySchema(Schema):
    format = fields.String(metadata={"description": "practice.own-process-notes/1"})
    exported_at = fields.DateTime()
    author = fields.Nested(OwnCopyAuthorSchema)
    client = fields.Nested(OwnCopyClientSchema)
    notes = fields.List(
        fields.Nested(NoteSchema),
        metadata={"description": "Your notes about the client, oldest first, with addenda"},
    )
    figure_names = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "figure id → its label, for each figure the notes refer to"},
    )
    script_names = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "script id → its name, for each script the notes refer to"},
    )


@blp.route("/clients/<uuid:client_id>/own-notes")
class OwnNotes(MethodView):
    decorators = [login_required]

    @blp.response(200, OwnCopySchema)
    def get(self, client_id):
        """Your own copy: every process note you wrote about this client, with addenda
        (for a practice that closes or a clinician who leaves). Only the author; audited."""
        response = jsonify(own_copy.own_copy(current_actor(), client_id))
        response.headers["Content-Disposition"] = 'attachment; filename="own-notes.json"'
        return response
