"""Client records: list, create, read, update, and the record export. No hard delete."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime

from flask import jsonify
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from practice import export
from practice.api.common import PageArgs, TrimmedEmail, page_of, paginate
from practice.api.users import StrictBoolean
from practice.clients import service
from practice.clients.models import CLIENT_STATUSES
from practice.login import roles_required

blp = Blueprint(
    "clients", __name__, url_prefix="/api/v1/clients", description="Clients of the practice"
)

READERS = ("owner", "scheduler", "clinician")
OPTIONAL_TEXT = ("preferred_name", "email", "phone")


def _no_control_characters(value: str) -> None:
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValidationError("Control characters are not allowed.")


class Text(fields.String):
    """A string, trimmed and NFC-normalised, without control characters."""

    def __init__(self, *, max_length: int, min_length: int = 1, **kwargs):
        checks = [validate.Length(min=min_length, max=max_length), _no_control_characters]
        super().__init__(validate=checks, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return unicodedata.normalize("NFC", text.strip())


class ClientWriteSchema(Schema):
    first_name = Text(max_length=100)
    last_name = Text(max_length=100)
    preferred_name = Text(max_length=100, allow_none=True)
    date_of_birth = fields.Date(allow_none=True)
    email = TrimmedEmail(allow_none=True, validate=validate.Length(max=254))
    phone = Text(max_length=40, allow_none=True)
    primary_clinician_id = fields.UUID()
    care_team_ids = fields.List(fields.UUID(), validate=validate.Length(max=50))
    status = fields.String(validate=validate.OneOf(CLIENT_STATUSES))
    intake_date = fields.Date(allow_none=True)
    discharge_date = fields.Date(allow_none=True)

    @pre_load
    def blank_means_none(self, data, **kwargs):
        """An empty optional text field clears it, as forms send it."""
        if isinstance(data, dict):
            data = dict(data)
            for name in OPTIONAL_TEXT:
                if isinstance(data.get(name), str) and not data[name].strip():
                    data[name] = None
        return data


class ClientCreateSchema(ClientWriteSchema):
    first_name = Text(max_length=100, required=True)
    last_name = Text(max_length=100, required=True)
    allow_duplicate = StrictBoolean(
        load_default=False,
        metadata={
            "description": "true: register even though a client with the same name and "
            "date of birth, email or phone exists (the 409 named them); audited."
        },
    )


class ClientUpdateSchema(ClientWriteSchema):
    """Every field optional; `null` clears an optional one."""


class ClientSchema(Schema):
    id = fields.UUID()
    first_name = fields.String()
    last_name = fields.String()
    preferred_name = fields.String(allow_none=True)
    date_of_birth = fields.Date(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    primary_clinician_id = fields.UUID()
    care_team_ids = fields.Method("sorted_care_team")
    status = fields.String()
    intake_date = fields.Date(allow_none=True)
    discharge_date = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def sorted_care_team(self, client) -> list[str]:
        return sorted(str(member) for member in client.care_team_ids)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def client_json(client, care_team_ids) -> dict:
    """What ClientSchema dumps for a client (a row with its columns) and its care team,
    built directly: a list shows dozens, and marshmallow's dump cost as much as the
    query (tests/clients/test_list_json.py keeps the two equal)."""
    return {
        "id": str(client.id),
        "first_name": client.first_name,
        "last_name": client.last_name,
        "preferred_name": client.preferred_name,
        "date_of_birth": _iso(client.date_of_birth),
        "email": client.email,
        "phone": client.phone,
        "primary_clinician_id": str(client.primary_clinician_id),
        "care_team_ids": sorted(str(member) for member in care_team_ids),
        "status": client.status,
        "intake_date": _iso(client.intake_date),
        "discharge_date": _iso(client.discharge_date),
        "created_at": _iso(client.created_at),
        "updated_at": _iso(client.updated_at),
    }


class ClientListArgs(PageArgs):
    q = Text(max_length=100, min_length=0)
    status = fields.String(validate=validate.OneOf(CLIENT_STATUSES))
    clinician_id = fields.UUID()


@blp.route("")
class Clients(MethodView):
    @roles_required(*READERS)
    @blp.arguments(ClientListArgs, location="query", unknown=RAISE)
    @blp.response(200, page_of(ClientSchema))
    def get(self, args):
        """List the clients you may see, by last name; filter by `q`, `status`, `clinician_id`."""
        query = service.search_clients(
            current_user,
            q=args.get("q"),
            status=args.get("status"),
            clinician_id=args.get("clinician_id"),
            rows=True,
        )
        page = paginate(query, args, rows=True)
        service.audit_listed(page["items"])
        page["items"] = [client_json(row, service.care_team_of(row)) for row in page["items"]]
        return jsonify(page)  # already what the schema documents: no second dump

    @roles_required(*READERS)
    @blp.arguments(ClientCreateSchema)
    @blp.response(201, ClientSchema)
    @blp.alt_response(409, description="Possibly a client already registered: `duplicates`")
    def post(self, args):
        """Register a client; clinicians register clients only for themselves. A record
        with the same name and date of birth, email or phone as a client you can see is
        refused with 409 naming those clients' ids (`duplicates`); send it again with
        `"allow_duplicate": true` to register it anyway (audited)."""
        allow = args.pop("allow_duplicate")
        return service.create_client(current_user, args, allow_duplicate=allow)


@blp.route("/<uuid:client_id>")
class ClientItem(MethodView):
    @login_required
    @blp.response(200, ClientSchema)
    def get(self, client_id):
        """One client's record."""
        return service.read_client(current_user, client_id)

    @login_required
    @blp.arguments(ClientUpdateSchema)
    @blp.response(200, ClientSchema)
    def patch(self, args, client_id):
        """Change a client's record; discharge with `{"status": "discharged"}`."""
        client = service.get_client_for(current_user, client_id)
        return service.update_client(current_user, client, args)


@blp.route("/<uuid:client_id>/export")
class ClientExport(MethodView):
    @login_required
    @blp.response(200, {"type": "object"}, content_type="application/json")
    def get(self, client_id):
        """The client's record as JSON (demographics, care team, appointments; no notes)."""
        response = jsonify(export.export_client(current_user, client_id))
        response.headers["Content-Disposition"] = f'attachment; filename="client-{client_id}.json"'
        return response
