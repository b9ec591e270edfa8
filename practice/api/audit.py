"""The audit log, for owners."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from practice.api.common import PageArgs, page_of, paginate
from practice.audit.models import AuditEntry
from practice.auth import policy

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
    action = fields.String(validate=validate.Length(max=64))
    object_id = fields.String(validate=validate.Length(max=64))
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()


@blp.route("")
class AuditLog(MethodView):
    @policy.roles_required("owner")
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, page_of(AuditEntrySchema))
    def get(self, args):
        """Audit entries of this practice, newest first."""
        query = sa.select(AuditEntry).where(AuditEntry.practice_id == current_user.practice_id)
        for name in ("actor_id", "action", "object_id"):
            if name in args:
                query = query.where(getattr(AuditEntry, name) == args[name])
        if "since" in args:
            query = query.where(AuditEntry.occurred_at >= args["since"])
        if "until" in args:
            query = query.where(AuditEntry.occurred_at < args["until"])
        return paginate(query.order_by(AuditEntry.seq.desc()), args)
