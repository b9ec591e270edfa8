"""Appointments: booking (single or recurring), calendar views, moves and status changes.

Owners and schedulers see and book every appointment of the practice; a clinician sees
their own and books only themself, for clients assigned to them. Ids in a body that the
caller may not see read as "No such ..." (422); ids in the path as 404. Payloads carry
scheduling data only, never clinical fields. Every read and write is audited (ids only).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import jsonify
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from practice.api.common import PageArgs, page_of, paginate
from practice.api.openapi import exactly_one_of
from practice.audit import service as audit
from practice.extensions import db
from practice.login import roles_required
from practice.scheduling import changes, service
from practice.scheduling.cancel_reasons import MAX_REASON, reason_for
from practice.scheduling.conflicts import MAX_DURATION
from practice.scheduling.models import (
    CANCEL_CATEGORIES,
    CANCELLED_BY,
    KINDS,
    MODALITIES,
    STATUSES,
)
from practice.scheduling.recurrence import MAX_EVERY_WEEKS, MAX_OCCURRENCES

blp = Blueprint(
    "appointments", __name__, url_prefix="/api/v1/appointments", description="Appointments"
)
BOOKERS = ("owner", "scheduler", "clinician")
REASON_DOC = (
    "Why it was cancelled, in words (it can be clinical): stored encrypted under the "
    "client's key; shown only to the client's assigned clinicians, null for everyone else "
    "(`has_cancel_reason` says whether there is one)."
)
MAX_MINUTES = int(MAX_DURATION.total_seconds() // 60)
# Far enough for any real calendar, near enough that date arithmetic cannot overflow.
SANE_TIMES = validate.Range(
    min=datetime(2000, 1, 1, tzinfo=UTC), max=datetime(2200, 1, 1, tzinfo=UTC)
)


class UTCDateTime(fields.AwareDateTime):
    """An ISO 8601 time that must carry an offset; loaded as UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


def _time(**kwargs) -> UTCDateTime:
    return UTCDateTime(validate=SANE_TIMES, **kwargs)


def _minutes(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_MINUTES), **kwargs)


@exactly_one_of("count", "until")
class RecurrenceSchema(Schema):
    every_weeks = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=MAX_EVERY_WEEKS)
    )
    count = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_OCCURRENCES))
    until = fields.Date()

    @validates_schema
    def _one_bound(self, data, **_kwargs):
        if ("count" in data) == ("until" in data):
            raise ValidationError("Give exactly one of count and until.", "count")


@exactly_one_of("ends_at", "duration_minutes")
class AppointmentCreateSchema(Schema):
    client_id = fields.UUID(required=True)
    clinician_id = fields.UUID(required=True)
    starts_at = _time(required=True)
    ends_at = _time()
    duration_minutes = _minutes()
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    modality = fields.String(required=True, validate=validate.OneOf(MODALITIES))
    room_id = fields.UUID(allow_none=True)
    recurrence = fields.Nested(RecurrenceSchema)

    @validates_schema
    def _one_end(self, data, **_kwargs):
        if ("ends_at" in data) == ("duration_minutes" in data):
            raise ValidationError("Give exactly one of ends_at and duration_minutes.", "ends_at")


@exactly_one_of("ends_at", "duration_minutes", optional=True)
class AppointmentUpdateSchema(Schema):
    starts_at = _time()
    ends_at = _time()
    duration_minutes = _minutes()
    room_id = fields.UUID(allow_none=True)
    kind = fields.String(validate=validate.OneOf(KINDS))
    modality = fields.String(validate=validate.OneOf(MODALITIES))
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "scheduled: undo a cancellation while the slot is free"},
    )
    cancelled_by = fields.String(validate=validate.OneOf(CANCELLED_BY))
    cancel_category = fields.String(validate=validate.OneOf(CANCEL_CATEGORIES))
    cancel_reason = fields.String(
        validate=validate.Length(min=1, max=MAX_REASON), metadata={"description": REASON_DOC}
    )

    @validates_schema
    def _consistent(self, data, **_kwargs):
        if "ends_at" in data and "duration_minutes" in data:
            raise ValidationError("Give at most one of ends_at and duration_minutes.", "ends_at")
        cancelling = data.get("status") in changes.CANCELLATIONS
        if cancelling and "cancelled_by" not in data:
            raise ValidationError("Say who cancelled.", "cancelled_by")
        for name in ("cancelled_by", "cancel_category", "cancel_reason"):
            if name in data and not cancelling:
                raise ValidationError("Only for cancellations.", name)


class ScopeArgs(Schema):
    scope = fields.String(validate=validate.OneOf(changes.SCOPES))


class AppointmentListArgs(PageArgs):
    clinician_id = fields.UUID()
    client_id = fields.UUID()
    room_id = fields.UUID()
    series_id = fields.UUID()
    status = fields.String(validate=validate.OneOf(STATUSES))
    start = _time()
    end = _time()

    @validates_schema
    def _range(self, data, **_kwargs):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("end must be after start.", "end")


class AppointmentSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    clinician_id = fields.UUID()
    room_id = fields.UUID(allow_none=True)
    series_id = fields.UUID(allow_none=True)
    series_index = fields.Integer(allow_none=True)
    detached = fields.Boolean()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    duration_minutes = fields.Method("_duration")
    kind = fields.String()
    modality = fields.String()
    status = fields.String()
    cancelled_by = fields.String(allow_none=True)
    cancel_category = fields.String(allow_none=True)
    cancel_reason = fields.Method(
        "_cancel_reason",
        allow_none=True,
        metadata={"type": "string", "description": REASON_DOC},
    )
    has_cancel_reason = fields.Method("_has_cancel_reason", metadata={"type": "boolean"})
    status_changed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _duration(self, appointment) -> int:
        return int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)

    def _cancel_reason(self, appointment) -> str | None:
        return reason_for(current_user, appointment)

    def _has_cancel_reason(self, appointment) -> bool:
        return appointment.cancel_note is not None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _text(value) -> str | None:
    return None if value is None else str(value)


def appointment_json(appointment) -> dict:
    """What AppointmentSchema dumps for an appointment (an entity or a row with its
    columns), built directly: a week's list shows dozens, and marshmallow's dump cost
    more than the query (tests/scheduling/test_list_json.py keeps the two equal)."""
    starts_at, ends_at = appointment.starts_at, appointment.ends_at
    return {
        "id": str(appointment.id),
        "client_id": str(appointment.client_id),
        "clinician_id": str(appointment.clinician_id),
        "room_id": _text(appointment.room_id),
        "series_id": _text(appointment.series_id),
        "series_index": appointment.series_index,
        "detached": bool(appointment.detached),
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "duration_minutes": int((ends_at - starts_at).total_seconds() // 60),
        "kind": appointment.kind,
        "modality": appointment.modality,
        "status": appointment.status,
        "cancelled_by": appointment.cancelled_by,
        "cancel_category": appointment.cancel_category,
        "cancel_reason": reason_for(current_user, appointment),
        "has_cancel_reason": appointment.cancel_note is not None,
        "status_changed_at": _iso(appointment.status_changed_at),
        "created_at": _iso(appointment.created_at),
        "updated_at": _iso(appointment.updated_at),
    }


class BookingSchema(AppointmentSchema):
    occurrences = fields.Integer()


@blp.route("")
class Appointments(MethodView):
    @roles_required(*BOOKERS)
    @blp.arguments(AppointmentListArgs, location="query")
    @blp.response(200, page_of(AppointmentSchema))
    def get(self, args):
        """List appointments (a clinician's week, the practice's day) ordered by start."""
        page = paginate(service.appointment_query(current_user, args, rows=True), args, rows=True)
        audit.record(
            db.session,
            "appointment.list",
            object_type="client" if args.get("client_id") else "appointment",
            object_id=args.get("client_id"),
        )
        page["items"] = [appointment_json(row) for row in page["items"]]
        return jsonify(page)  # already what the schema documents: no second dump

    @roles_required(*BOOKERS)
    @blp.arguments(AppointmentCreateSchema)
    @blp.response(201, BookingSchema)
    @blp.alt_response(409, description="The time is taken: `conflicts` lists what you may see")
    def post(self, args):
        """Book an appointment, or a recurring series (every occurrence is checked).

        The clinician must be in the client's care (the primary clinician or on the care
        team); otherwise 422 on `clinician_id`: add them first with
        `PATCH /api/v1/clients/{id}` (`care_team_ids`), then book. Times carry an offset
        (a time without one is refused); the web app's booking form converts a local time
        in the practice's zone on the server instead.
        """
        booked = service.book(current_user, args)
        first = booked[0]
        first.occurrences = len(booked)
        return first


@blp.route("/<uuid:appointment_id>")
class AppointmentItem(MethodView):
    @roles_required(*BOOKERS)
    @blp.response(200, AppointmentSchema)
    def get(self, appointment_id):
        """One appointment."""
        return service.read_appointment(current_user, appointment_id)

    @roles_required(*BOOKERS)
    @blp.arguments(ScopeArgs, location="query")
    @blp.arguments(AppointmentUpdateSchema)
    @blp.response(200, AppointmentSchema)
    @blp.alt_response(409, description="The time is taken, or the status cannot change so")
    def patch(self, query, args, appointment_id):
        """Move, change or set the status of an appointment; `?scope=` for series members."""
        appointment = service.get_appointment_for(current_user, appointment_id)
        changes.change(current_user, appointment, args, query.get("scope"))
        return appointment
