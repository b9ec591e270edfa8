"""Treatment plans: versions per client (the newest signed one is current), drafts under
If-Match, signed for good; a new version starts as a copy of the current plan.

Written by a clinician in the client's care; read by the care team and their
supervisors; never by schedulers. Audited; no text reaches the log.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from practice.api.common import PageArgs, audit_refusals, etag, page_of, paginate, require_if_match
from practice.api.openapi import if_match
from practice.audit import service as audit
from practice.extensions import db
from practice.login import current_actor
from practice.record import access, plans
from practice.record.content import PlanContentSchema
from practice.record.models import TreatmentPlan

blp = Blueprint(
    "treatment_plans",
    __name__,
    url_prefix="/api/v1",
    description="Treatment plans: versioned, signed (care team; supervisors read)",
)
blp.after_request(audit_refusals)


class PlanCreateSchema(Schema):
    content = fields.Nested(
        PlanContentSchema,
        load_default=None,
        metadata={"description": "Left out: a copy of the current plan (goal ids kept)"},
    )
    review_date = fields.Date(load_default=None, allow_none=True)


class PlanReplaceSchema(Schema):
    content = fields.Nested(PlanContentSchema, required=True)
    review_date = fields.Date(load_default=None, allow_none=True)


class TreatmentPlanSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    author_id = fields.UUID()
    number = fields.Integer(metadata={"description": "The plan's version number for the client"})
    review_date = fields.Date(allow_none=True)
    status = fields.String()
    version = fields.Integer(metadata={"description": "The row's version (ETag, If-Match)"})
    content = fields.Nested(PlanContentSchema)
    due_for_review = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    signed_at = fields.DateTime(allow_none=True)


def _checked_date(args: dict):
    from practice.errors import Invalid

    day = args.get("review_date")
    if day is not None and not 1900 <= day.year <= 2999:
        raise Invalid({"review_date": ["Give a review date between 1900 and 2999."]})
    return day


def _load(treatment_plan_id, *, write: bool = False):
    return access.record_item_for(
        current_actor(), TreatmentPlan, "treatment_plan", treatment_plan_id, write=write
    )


@blp.route("/clients/<uuid:client_id>/treatment-plans")
class ClientPlans(MethodView):
    decorators = [login_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(TreatmentPlanSchema))
    def get(self, args, client_id):
        """The client's plan versions, newest first (the first signed one is current)."""
        client = access.record_client_for(current_actor(), client_id)
        page = paginate(plans.plans_query(client), args)
        audit.record(db.session, "treatment_plan.list", object_type="client", object_id=client.id)
        return {**page, "items": [plans.read_plan(plan, client) for plan in page["items"]]}

    @blp.arguments(PlanCreateSchema)
    @blp.response(201, TreatmentPlanSchema)
    @blp.alt_response(409, description="The client has a draft plan already")
    def post(self, args, client_id):
        """Start a new version as a draft (version 1): the content given, or a copy of the
        current plan."""
        actor = current_actor()
        client = access.record_client_for(actor, client_id, write=True)
        plan, content = plans.create_plan(actor, client, args["content"], _checked_date(args))
        return plans.plan_view(plan, client, content), 201, etag(plan.version)


@blp.route("/treatment-plans/<uuid:treatment_plan_id>")
class PlanItem(MethodView):
    decorators = [login_required]

    @blp.response(200, TreatmentPlanSchema)
    def get(self, treatment_plan_id):
        """One plan version (ETag = version)."""
        plan, client = _load(treatment_plan_id)
        return plans.read_plan(plan, client), 200, etag(plan.version)

    @blp.arguments(PlanReplaceSchema)
    @blp.response(200, TreatmentPlanSchema)
    @blp.alt_response(409, description="The plan is signed")
    @if_match
    def put(self, args, treatment_plan_id):
        """Replace a draft's content and review date; send If-Match with the version you read."""
        plan, client = _load(treatment_plan_id, write=True)
        if plan.status == "draft":
            require_if_match(plan.version)
        content = plans.replace_plan(
            plan, client, args["content"], _checked_date(args), plan.version
        )
        return plans.plan_view(plan, client, content), 200, etag(plan.version)


@blp.route("/treatment-plans/<uuid:treatment_plan_id>/sign")
class PlanSign(MethodView):
    decorators = [login_required]

    @blp.response(200, TreatmentPlanSchema)
    @blp.alt_response(409, description="The plan is signed already")
    @if_match
    def post(self, treatment_plan_id):
        """Sign a draft at the version you read (If-Match): it becomes the current plan."""
        plan, client = _load(treatment_plan_id, write=True)
        if plan.status == "draft":
            require_if_match(plan.version)
        content = plans.sign_plan(plan, client, plan.version)
        return plans.plan_view(plan, client, content), 200, etag(plan.version)
