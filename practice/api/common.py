"""Schemas and helpers every resource file shares: pagination, the error body, ETags."""

from __future__ import annotations

from typing import NoReturn

from flask import request
from flask_login import current_user
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from practice import paging, versions
from practice.audit import service as audit
from practice.audit.service import PENDING
from practice.auth import service as auth_service
from practice.extensions import db

MAX_PAGE_SIZE = 200


class PageArgs(Schema):
    """`?page=1&page_size=50` (at most 200)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))


def refuse_fields(errors: dict, message: str = "The request was refused.") -> NoReturn:
    """Answer 422 in the error shape with field-level errors of the JSON body."""
    abort(422, message=message, errors={"json": errors})


def reauthenticate(action: str, password: str, code: str | None) -> None:
    """Recent authentication of the caller for `action`: StepUpRefused (403) or
    SignInThrottled (429 with Retry-After), answered by practice/http.py."""
    auth_service.reauthenticate(current_user._get_current_object(), password, code, action)


class TrimmedEmail(fields.Email):
    """An email address; pasted ones often carry spaces, which are not part of it."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        return super()._deserialize(value, attr, data, **kwargs)


class ConflictSchema(Schema):
    """One clash of a booking. An appointment the caller may not read is reported only as
    its reason with `hidden: true` (no id, no times), once per reason."""

    appointment_id = fields.UUID()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    reason = fields.String(metadata={"description": "clinician, client or room"})
    hidden = fields.Boolean(
        metadata={"description": "true: an appointment you cannot see holds the slot"}
    )


class DuplicateSchema(Schema):
    """A client a new record looks like: its id and what matched, nothing else."""

    client_id = fields.UUID()
    matched = fields.List(
        fields.String(), metadata={"description": "name_and_date_of_birth, email or phone"}
    )


class ErrorSchema(Schema):
    """The error envelope of every 4xx and 5xx answer (practice.http.error_response)."""

    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "Field errors by location: json, query"})
    conflicts = fields.List(
        fields.Nested(ConflictSchema), metadata={"description": "A booking's conflicts (409)"}
    )
    duplicates = fields.List(
        fields.Nested(DuplicateSchema),
        metadata={"description": "A new client's possible duplicates (409)"},
    )


_page_schemas: dict[type, type] = {}


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A list-response schema `{items, page, page_size, total}` for `item_schema`."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = Schema.from_dict(
            {
                "items": fields.List(fields.Nested(item_schema)),
                "page": fields.Integer(),
                "page_size": fields.Integer(),
                "total": fields.Integer(),
            },
            name=name,
        )
    return _page_schemas[item_schema]


def paginate(query, args: dict, *, rows: bool = False) -> dict:
    """Run a select() one page at a time; `total` counts the whole filtered set. With
    `rows`, the items are whole rows (a select of columns), not entities."""
    return paging.paginate(query, args["page"], args["page_size"], rows=rows)


STAR_REFUSED = versions.ANY_REFUSED


def sent_versions() -> frozenset[str] | None:
    """The versions the request's If-Match header names (None without one)."""
    header = request.headers.get("If-Match")
    if not header or not header.strip():
        return None
    return frozenset(tag.strip().removeprefix("W/").strip('"') for tag in header.split(","))


def require_if_match(current_version: int) -> None:
    """Optimistic concurrency for every write to a versioned object: 428 without If-Match,
    412 when it names another version (practice.versions.check_version decides).

    `If-Match: *` ("whatever it is now") names no version the caller has seen, so it is
    no precondition at all: 428 like a missing header, with a message that says so.
    """
    versions.check_version(current_version, sent_versions())


def etag(version: int) -> dict[str, str]:
    """Response headers carrying the ETag of `version`."""
    return {"ETag": f'"{version}"'}


VERBS = {"GET": "read", "POST": "create", "PUT": "update", "PATCH": "update"}
ID_ARGS = (
    "note_id",
    "progress_note_id",
    "treatment_plan_id",
    "script_id",
    "figure_id",
    "client_id",
)
# Sub-resources that name an action, as the views name it when they succeed.
SUB_ACTIONS = {"sign": "sign", "merge": "merge", "addenda": "addendum"}


def audit_refusals(response):
    """After-request hook for the clinical blueprints: a refused or failed request leaves
    one audit entry (no text), named as the view names its success ("note.list",
    "note.addendum", "script.update", ...)."""
    if response.status_code < 400 or response.status_code == 401:
        return response
    pending = db.session.info.get(PENDING, [])
    if any(event.outcome != "success" for event in pending):
        return response  # the refusal is already recorded (e.g. policy.deny)
    view_args = request.view_args or {}
    name = next((key for key in ID_ARGS if key in view_args), None)
    object_type = name.removesuffix("_id") if name else None
    rule = request.url_rule.rule if request.url_rule else ""
    last = rule.rstrip("/").rsplit("/", 1)[-1]
    if last in SUB_ACTIONS:
        verb = SUB_ACTIONS[last]
    elif request.method == "GET" and not last.startswith("<"):
        verb = "list"  # a collection
    else:
        verb = VERBS.get(request.method, "call")
    resource = request.blueprint.removesuffix("s") if request.blueprint else "request"
    audit.record(
        db.session,
        f"{resource}.{verb}",
        object_type=object_type,
        object_id=view_args.get(name) if name else None,
        outcome="error" if response.status_code >= 500 else "failure",
    )
    return response
