"""The next free times for a booking: the days after the one asked for on which the
clinician, the client and the room are free at the same local time of day (for a series,
every occurrence). What the web app offers after a conflict, for API clients too."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from practice.api.appointments import BOOKERS, MAX_MINUTES, _time
from practice.login import roles_required
from practice.scheduling import free_slots
from practice.scheduling.recurrence import MAX_EVERY_WEEKS, MAX_OCCURRENCES

blp = Blueprint(
    "free_slots",
    __name__,
    url_prefix="/api/v1/appointments/free-slots",
    description="Free times for a booking",
)


class FreeSlotArgs(Schema):
    client_id = fields.UUID(required=True)
    clinician_id = fields.UUID(required=True)
    room_id = fields.UUID()
    starts_at = _time(required=True, metadata={"description": "the time refused or wanted"})
    duration_minutes = fields.Integer(
        required=True, validate=validate.Range(min=1, max=MAX_MINUTES)
    )
    every_weeks = fields.Integer(validate=validate.Range(min=1, max=MAX_EVERY_WEEKS))
    count = fields.Integer(validate=validate.Range(min=1, max=MAX_OCCURRENCES))
    until = fields.Date()
    offers = fields.Integer(
        strict=False, load_default=free_slots.OFFERS, validate=validate.Range(min=1, max=10)
    )

    @validates_schema
    def _series(self, data, **_kwargs):
        if "every_weeks" in data and ("count" in data) == ("until" in data):
            raise ValidationError("Give exactly one of count and until.", "count")
        if "every_weeks" not in data and ("count" in data or "until" in data):
            raise ValidationError("Only with every_weeks.", "every_weeks")


class FreeSlotsSchema(Schema):
    starts_at = fields.List(
        fields.DateTime(), metadata={"description": "free starts, earliest first (UTC)"}
    )


@blp.route("")
class FreeSlots(MethodView):
    @roles_required(*BOOKERS)
    @blp.arguments(FreeSlotArgs, location="query")
    @blp.response(200, FreeSlotsSchema)
    def get(self, args):
        """The next free starts at the same local time of day (weekdays, unless the day
        asked for is a weekend), checking clinician, client and room as a booking does."""
        data = {k: args[k] for k in ("client_id", "clinician_id", "starts_at", "duration_minutes")}
        data["room_id"] = args.get("room_id")
        if "every_weeks" in args:
            data["recurrence"] = {
                k: args[k] for k in ("every_weeks", "count", "until") if k in args
            }
        return {"starts_at": free_slots.offers_for(current_user, data, count=args["offers"])}
