"""The audit log, for owners: their own practice's entries only, newest first."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from practice.api.common import PageArgs, page_of, paginate
from practice.audit import listing
from practice.audit import service as audit
from practice.audit.models import AuditEntry
from practice.extensions import db
from practice.login import roles_required

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit log")


class AuditEntrySchema(Schema):
    seq = fields.Integer()
    occurred_at = fields.DateTime()
    actor_id = fields.UUID(allow_none=True)
    action = fields.String()
    object_type = fields.String(allow_none=True)
    object_id = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    outcome = fields.String()


class AuditArgs(PageArgs):
    actor_id = fields.UUID()
    action = fields.String(validate=validate.Length(min=1, max=64))
    object_type = fields.String(validate=validate.Length(min=1, max=32))
    object_id = fields.String(validate=validate.Length(min=1, max=64))
    outcome = fields.String(validate=validate.OneOf(audit.OUTCOMES))
    since = fields.AwareDateTime(metadata={"description": "Entries at or after this time."})
    until = fields.AwareDateTime(metadata={"description": "Entries before this time."})

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if "since" in data and "until" in data and data["until"] <= data["since"]:
            raise ValidationError("Must be later than since.", "until")


@blp.route("")
class AuditLog(MethodView):
    @roles_required("owner")
    @blp.arguments(AuditArgs, location="query", unknown=RAISE)
    @blp.response(200, page_of(AuditEntrySchema))
    @blp.alt_response(403, description="Only owners read the audit log")
    def get(self, args):
        """Audit entries of this practice, newest first."""
        query = listing.practice_entries(current_user.practice_id, args)
        # The practice's own chain, newest first, then what it had on the single chain of
        # before revision 0013 (the deployment chain's older entries).
        legacy = AuditEntry.chain_id == audit.DEPLOYMENT_CHAIN
        page = paginate(query.order_by(legacy, AuditEntry.seq.desc()), args)
        audit.record(
            db.session, "audit.read", object_type="practice", object_id=current_user.practice_id
        )
        return page
