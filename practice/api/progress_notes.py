"""Progress notes (the client's record): one per session, drafts, signing, addenda.

Written by a clinician in the client's care; read by the care team and their
supervisors; never by schedulers. Every write to a draft sends If-Match (428 without,
412 stale). Reads, writes and refusals are audited; no text reaches the log.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from practice.api.common import PageArgs, audit_refusals, etag, page_of, sent_versions
from practice.api.openapi import if_match
from practice.login import current_actor
from practice.record import progress
from practice.record.content import ProgressContentSchema
from practice.record.models import RECORD_STATUSES

blp = Blueprint(
    "progress_notes",
    __name__,
    url_prefix="/api/v1",
    description="Progress notes: the session record (care team; supervisors read)",
)
blp.after_request(audit_refusals)


class ProgressNoteCreateSchema(Schema):
    appointment_id = fields.UUID(required=True)
    content = fields.Nested(ProgressContentSchema, load_default=dict)


class ProgressNoteReplaceSchema(Schema):
    content = fields.Nested(ProgressContentSchema, required=True)


class ProgressAddendumCreateSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=progress.MAX_ADDENDUM))


class ProgressNoteListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(RECORD_STATUSES))


class ParticipantSchema(Schema):
    role = fields.String(metadata={"description": "client or clinician"})
    id = fields.UUID()
    name = fields.String()


class SessionSchema(Schema):
    """The session, from the appointment (never copied into the note)."""

    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    kind = fields.String()
    modality = fields.String()
    status = fields.String()
    clinician_id = fields.UUID()
    participants = fields.List(fields.Nested(ParticipantSchema))


class ProgressAddendumSchema(Schema):
    id = fields.UUID()
    author_id = fields.UUID()
    created_at = fields.DateTime()
    text = fields.String()


class ProgressNoteSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    author_id = fields.UUID()
    appointment_id = fields.UUID()
    plan_id = fields.UUID(
        allow_none=True, metadata={"description": "The plan whose goals it rates"}
    )
    session_date = fields.Date()
    session = fields.Nested(SessionSchema)
    status = fields.String()
    version = fields.Integer()
    content = fields.Nested(ProgressContentSchema)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    signed_at = fields.DateTime(allow_none=True)
    addenda = fields.List(fields.Nested(ProgressAddendumSchema))


def _answer(view: dict):
    return view, 200, etag(view["version"])


@blp.route("/clients/<uuid:client_id>/progress-notes")
class ClientProgressNotes(MethodView):
    decorators = [login_required]

    @blp.arguments(ProgressNoteListArgs, location="query")
    @blp.response(200, page_of(ProgressNoteSchema))
    def get(self, args, client_id):
        """The client's progress notes, newest session first."""
        return progress.page_of_notes(
            current_actor(),
            client_id,
            status=args.get("status"),
            page=args["page"],
            page_size=args["page_size"],
        )

    @blp.arguments(ProgressNoteCreateSchema)
    @blp.response(201, ProgressNoteSchema)
    @blp.alt_response(409, description="The appointment has a progress note already")
    def post(self, args, client_id):
        """Start a draft (version 1) for an appointment of this client."""
        view = progress.start(current_actor(), client_id, args["appointment_id"], args["content"])
        return view, 201, etag(view["version"])


@blp.route("/progress-notes/<uuid:progress_note_id>")
class ProgressNoteItem(MethodView):
    decorators = [login_required]

    @blp.response(200, ProgressNoteSchema)
    def get(self, progress_note_id):
        """One progress note with its session and addenda (ETag = version)."""
        return _answer(progress.read(current_actor(), progress_note_id))

    @blp.arguments(ProgressNoteReplaceSchema)
    @blp.response(200, ProgressNoteSchema)
    @blp.alt_response(409, description="The note is signed")
    @if_match
    def put(self, args, progress_note_id):
        """Replace a draft's content; send If-Match with the version you read."""
        view = progress.update(
            current_actor(), progress_note_id, args["content"], sent=sent_versions()
        )
        return _answer(view)


@blp.route("/progress-notes/<uuid:progress_note_id>/sign")
class ProgressNoteSign(MethodView):
    decorators = [login_required]

    @blp.response(200, ProgressNoteSchema)
    @blp.alt_response(
        409,
        description="The note is signed already, or its session has not begun or was cancelled",
    )
    @if_match
    def post(self, progress_note_id):
        """Sign a draft at the version you read (If-Match): locked for good, and so are its
        session's time, kind, modality and attendance (the front desk can no longer change
        them). Only a session that has begun and was not cancelled is signed for."""
        return _answer(progress.sign(current_actor(), progress_note_id, sent=sent_versions()))


@blp.route("/progress-notes/<uuid:progress_note_id>/addenda")
class ProgressNoteAddenda(MethodView):
    decorators = [login_required]

    @blp.arguments(ProgressAddendumCreateSchema)
    @blp.response(201, ProgressNoteSchema)
    @blp.alt_response(409, description="The note is a draft: edit it instead")
    def post(self, args, progress_note_id):
        """Append a correction to a signed note (any clinician in the client's care)."""
        view = progress.addendum(current_actor(), progress_note_id, args["text"])
        return view, 201, etag(view["version"])
