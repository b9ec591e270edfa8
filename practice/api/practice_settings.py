"""The caller's practice: everyone in it reads; owners rename it, require TOTP, or set
the region for phone numbers written without a country code."""

from __future__ import annotations

import zoneinfo

import phonenumbers
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from practice.api.schemas import PracticeSchema
from practice.api.users import StrictBoolean
from practice.auth import service
from practice.login import roles_required

blp = Blueprint(
    "practice_settings", __name__, url_prefix="/api/v1/practice", description="Your practice"
)


def _time_zone(value: str) -> None:
    """An IANA zone name (not an enum in the document: 600 names, some alike)."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError("Not a time zone name (IANA, e.g. Europe/Berlin).")


class PracticeUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    timezone = fields.String(
        validate=_time_zone,
        metadata={
            "description": "Where days and booking times are read; a series keeps the zone "
            "it was booked in, and appointments keep their instants."
        },
    )
    require_totp = StrictBoolean()
    phone_region = fields.String(
        allow_none=True,
        validate=validate.OneOf(
            sorted(phonenumbers.SUPPORTED_REGIONS),
            error="Not a region code phone numbers know (ISO 3166 alpha-2, e.g. DE).",
        ),
    )

    @pre_load
    def _region_upper(self, data, **_kwargs):
        """Region codes are upper case; "de" means "DE"."""
        if isinstance(data, dict) and isinstance(data.get("phone_region"), str):
            data = {**data, "phone_region": data["phone_region"].strip().upper()}
        return data


@blp.route("")
class PracticeSettings(MethodView):
    @login_required
    @blp.response(200, PracticeSchema)
    def get(self):
        """Your practice: name, time zone, whether it requires a second factor, and its
        region for phone numbers without a country code (null: the deployment's)."""
        return current_user.practice

    @roles_required("owner")
    @blp.arguments(PracticeUpdateSchema)
    @blp.response(200, PracticeSchema)
    def patch(self, args):
        """Rename the practice, change its `timezone`, require TOTP of every user (owners
        who have TOTP on), or set `phone_region` (e.g. "DE"; null falls back to the
        deployment's setting)."""
        practice = current_user.practice
        return service.update_practice(practice, current_user, args)
