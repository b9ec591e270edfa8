"""Process notes (psychotherapy notes): drafts, signing and addenda.

Only the author reads and writes; a supervisor of the author reads while the link
exists; everyone else gets 404, in lists too (a client's list follows the same rule:
notes.service.note_authors_for). Every read, write and refusal is audited.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates

from practice.api.common import (
    PageArgs,
    audit_refusals,
    etag,
    page_of,
    paginate,
    refuse_fields,
    require_if_match,
)
from practice.api.openapi import if_match
from practice.audit import service as audit
from practice.auth import policy
from practice.clients.models import Client
from practice.extensions import db
from practice.keys import client_keys
from practice.notes import rules, service
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


def _client_of(note) -> Client:
    return db.session.get(Client, note.client_id)


def _full_view(note, content: dict | None = None) -> tuple[dict, int, dict]:
    """The note as the API shows it. `content`: what the request just sealed, so it need
    not be decrypted again; a draft has no addenda to look up."""
    cipher = client_keys.client_cipher(_client_of(note))
    addenda = [] if note.status == "draft" else service.addenda_of(note)
    view = service.note_view(note, cipher, addenda, content=content)
    return view, 200, etag(note.version)


def refuse(exc: Exception):
    """Map a service refusal to its status; messages never carry clinical text."""
    if isinstance(exc, rules.Invalid):
        refuse_fields(exc.errors, "The request refers to something it cannot use.")
    if isinstance(exc, rules.Stale):
        abort(412, message="This changed since you read it; reload and try again.")
    abort(409, message=str(exc))


@blp.route("/clients/<uuid:client_id>/notes")
class ClientNotes(MethodView):
    decorators = [login_required]

    @blp.arguments(NoteListArgs, location="query")
    @blp.response(200, page_of(NoteSchema))
    def get(self, args, client_id):
        """Notes about a client that you may read, by session date."""
        client = db.session.get(Client, client_id)
        authors = service.note_authors_for(current_user, client) if client else set()
        if not authors:
            policy.deny("client", client_id)
        query = service.notes_query(
            authors,
            client,
            status=args.get("status"),
            start=args.get("start"),
            end=args.get("end"),
            desc=args["order"] == "desc",
        )
        page = paginate(query, args)
        cipher = client_keys.client_cipher(client)
        audit.record(db.session, "note.list", object_type="client", object_id=client.id)
        items = []
        addenda = service.addenda_by_note(page["items"])
        for note in page["items"]:
            items.append(service.note_view(note, cipher, addenda[note.id]))
            audit.record(db.session, "note.read", object_type="note", object_id=note.id)
        return {**page, "items": items}

    @blp.arguments(NoteCreateSchema)
    @blp.response(201, NoteSchema)
    @blp.alt_response(409, description="The appointment has a note already")
    def post(self, args, client_id):
        """Start a draft note (version 1) for a session with this client."""
        client = service.get_clinical_client_for(current_user, client_id, write=True)
        try:
            note = service.create_note(
                current_user,
                client,
                args["session_date"],
                args["content"],
                args.get("appointment_id"),
            )
        except (rules.Invalid, rules.Conflict) as exc:
            refuse(exc)
        audit.record(db.session, "note.create", object_type="note", object_id=note.id)
        view, _status, headers = _full_view(note, args["content"])
        return view, 201, headers


@blp.route("/notes/<uuid:note_id>")
class NoteItem(MethodView):
    decorators = [login_required]

    @blp.response(200, NoteSchema)
    def get(self, note_id):
        """One note with its addenda (ETag = version)."""
        note = service.get_note_for(current_user, note_id)
        audit.record(db.session, "note.read", object_type="note", object_id=note.id)
        return _full_view(note)

    @blp.arguments(NoteReplaceSchema)
    @blp.response(200, NoteSchema)
    @blp.alt_response(409, description="The note is signed")
    @if_match
    def put(self, args, note_id):
        """Replace a draft's content; send If-Match with the version you read."""
        note = service.get_note_for(current_user, note_id, write=True)
        if note.status != "draft":
            abort(409, message="A signed note cannot change; add an addendum instead.")
        require_if_match(note.version)
        try:
            service.replace_note_content(
                note,
                _client_of(note),
                args["content"],
                note.version,
                args.get("session_date"),
            )
        except (rules.Invalid, rules.Conflict, rules.Stale) as exc:
            refuse(exc)
        audit.record(db.session, "note.update", object_type="note", object_id=note.id)
        return _full_view(note, args["content"])


@blp.route("/notes/<uuid:note_id>/sign")
class NoteSign(MethodView):
    decorators = [login_required]

    @blp.response(200, NoteSchema)
    @blp.alt_response(409, description="The note is signed already")
    @if_match
    def post(self, note_id):
        """Sign a draft: it is locked for good; corrections become addenda. Send If-Match
        with the version you read: you sign what you saw."""
        note = service.get_note_for(current_user, note_id, write=True)
        if note.status != "draft":
            abort(409, message="This note is already signed.")
        require_if_match(note.version)
        try:
            service.sign_note(note)  # compare-and-set on the version just read (and matched)
        except (rules.Conflict, rules.Stale) as exc:
            refuse(exc)
        audit.record(db.session, "note.sign", object_type="note", object_id=note.id)
        return _full_view(note)


@blp.route("/notes/<uuid:note_id>/addenda")
class NoteAddenda(MethodView):
    decorators = [login_required]

    @blp.arguments(AddendumCreateSchema)
    @blp.response(201, NoteSchema)
    @blp.alt_response(409, description="The note is a draft: edit it instead")
    def post(self, args, note_id):
        """Append a correction to a signed note (encrypted, attributed, time-stamped)."""
        note = service.get_note_for(current_user, note_id, write=True)
        try:
            addendum = service.add_addendum(current_user, note, _client_of(note), args["text"])
        except rules.Conflict as exc:
            refuse(exc)
        audit.record(db.session, "note.addendum", object_type="note", object_id=note.id)
        audit.record(db.session, "addendum.create", object_type="addendum", object_id=addendum.id)
        view, _status, headers = _full_view(note)
        return view, 201, headers
