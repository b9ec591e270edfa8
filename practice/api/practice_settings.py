"""The caller's practice: everyone in it reads; owners rename it or require TOTP."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from practice.api.schemas import PracticeSchema
from practice.api.users import StrictBoolean
from practice.audit import service as audit
from practice.auth import policy, service
from practice.extensions import db

blp = Blueprint(
    "practice_settings", __name__, url_prefix="/api/v1/practice", description="Your practice"
)


class PracticeUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    require_totp = StrictBoolean()


@blp.route("")
class PracticeSettings(MethodView):
    @login_required
    @blp.response(200, PracticeSchema)
    def get(self):
        """Your practice: name, time zone and whether it requires a second factor."""
        return current_user.practice

    @policy.roles_required("owner")
    @blp.arguments(PracticeUpdateSchema)
    @blp.response(200, PracticeSchema)
    def patch(self, args):
        """Rename the practice or require TOTP of every user (owners, who have TOTP on)."""
        practice = current_user.practice
        try:
            service.update_practice(practice, current_user, args)
        except service.PolicyError as exc:
            abort(422, message="The request was refused.", errors={"json": exc.errors})
        audit.record(db.session, "practice.update", object_type="practice", object_id=practice.id)
        return practice
