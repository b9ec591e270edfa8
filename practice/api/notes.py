"""Process notes (psychotherapy notes): drafts, signing and addenda.

Only the author reads and writes; a supervisor of the author reads while the link
exists; everyone else gets 404, in lists too (a client's list follows the same rule:
notes.access.authors_for). Every read, write and refusal is audited, by the services.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates

from practice.api.common import PageArgs, audit_refusals, etag, page_of, sent_versions
from practice.api.openapi import if_match
from practice.notes import service
from practice.notes.models import NOTE_STATUSES
from practice.notes.service import MAX_ADDENDUM
from practice.notes.template import NoteContentSchema

blp = Blueprint(
    "notes", __name__, url_prefix="/api/v1", description="Process notes (author and supervisor)"
)

blp.after_request(audit_refusals)


def check_session_date(value: date) -> None:
    if value < date(1900, 1, 1) or value > date.today() + timedelta(days=1):
        raise ValidationError("The session date must lie between 1900 and tomorrow.")


class NoteCreateSchema(Schema):
    session_date = fields.Date(required=True)
    appointment_id = fields.UUID(allow_none=True)
    content = fields.Nested(NoteContentSchema, load_default=dict)

    @validates("session_date")
    def _date(self, value, **_kwargs):
        check_session_date(value)


class NoteReplaceSchema(Schema):
    content = fields.Nested(NoteContentSchema, required=True)
    session_date = fields.Date()

    @validates("session_date")
    def _date(self, value, **_kwargs):
        check_session_date(value)


class AddendumCreateSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_ADDENDUM))


class NoteListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(NOTE_STATUSES))
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")))


class AddendumSchema(Schema):
    id = fields.UUID()
    author_id = fields.UUID()
    created_at = fields.DateTime()
    text = fields.String()


class NoteSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    author_id = fields.UUID()
    appointment_id = fields.UUID(allow_none=True)
    session_date = fields.Date()
    template_version = fields.Integer()
    status = fields.String()
    version = fields.Integer()
    content = fields.Nested(NoteContentSchema)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    signed_at = fields.DateTime(allow_none=True)
    addenda = fields.List(fields.Nested(AddendumSchema))


def _answer(view: dict, status: int = 200) -> tuple[dict, int, dict]:
    """The note as shown, with its version as the ETag."""
    return view, status, etag(view["version"])


@blp.route("/clients/<uuid:client_id>/notes")
class ClientNotes(MethodView):
    decorators = [login_required]

    @blp.arguments(NoteListArgs, location="query")
    @blp.response(200, page_of(NoteSchema))
    def get(self, args, client_id):
        """Notes about a client that you may read, by session date."""
        return service.list_notes(
            current_user,
            client_id,
            page=args["page"],
            page_size=args["page_size"],
            status=args.get("status"),
            start=args.get("start"),
            end=args.get("end"),
            desc=args["order"] == "desc",
        )

    @blp.arguments(NoteCreateSchema)
    @blp.response(201, NoteSchema)
    @blp.alt_response(409, description="The appointment has a note already")
    def post(self, args, client_id):
        """Start a draft note (version 1) for a session with this client."""
        view = service.start_note(
            current_user,
            client_id,
            args["session_date"],
            args["content"],
            args.get("appointment_id"),
        )
        return _answer(view, 201)


@blp.route("/notes/<uuid:note_id>")
class NoteItem(MethodView):
    decorators = [login_required]

    @blp.response(200, NoteSchema)
    def get(self, note_id):
        """One note with its addenda (ETag = version)."""
        return _answer(service.read_note(current_user, note_id))

    @blp.arguments(NoteReplaceSchema)
    @blp.response(200, NoteSchema)
    @blp.alt_response(409, description="The note is signed")
    @if_match
    def put(self, args, note_id):
        """Replace a draft's content; send If-Match with the version you read."""
        view = service.update_note(
            current_user,
            note_id,
            args["content"],
            sent=sent_versions(),
            session_date=args.get("session_date"),
        )
        return _answer(view)


@blp.route("/notes/<uuid:note_id>/sign")
class NoteSign(MethodView):
    decorators = [login_required]

    @blp.response(200, NoteSchema)
    @blp.alt_response(409, description="The note is signed already")
    @if_match
    def post(self, note_id):
        """Sign a draft: it is locked for good; corrections become addenda. Send If-Match
        with the version you read: you sign what you saw."""
        return _answer(service.sign_note_for(current_user, note_id, sent=sent_versions()))


@blp.route("/notes/<uuid:note_id>/addenda")
class NoteAddenda(MethodView):
    decorators = [login_required]

    @blp.arguments(AddendumCreateSchema)
    @blp.response(201, NoteSchema)
    @blp.alt_response(409, description="The note is a draft: edit it instead")
    def post(self, args, note_id):
        """Append a correction to a signed note (encrypted, attributed, time-stamped)."""
        return _answer(service.add_note_addendum(current_user, note_id, args["text"]), 201)
