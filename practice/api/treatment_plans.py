"""Treatment plans: versions per client (the newest signed one is current), drafts under
If-Match, signed for good; a new version starts as a copy of the current plan.

Written by a clinician in the client's care; read by the care team and their
supervisors; never by schedulers. Audited; no text reaches the log.
"""

from __future__ import annotations

from datetime import date

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from practice.api.common import PageArgs, audit_refusals, etag, page_of, sent_versions
from practice.api.openapi import if_match
from practice.login import current_actor
from practice.record import plans
from practice.record.content import PlanContentSchema

blp = Blueprint(
    "treatment_plans",
    __name__,
    url_prefix="/api/v1",
    description="Treatment plans: versioned, signed (care team; supervisors read)",
)
blp.after_request(audit_refusals)


REVIEW_YEARS = validate.Range(
    min=date(1900, 1, 1), max=date(2999, 12, 31), error="Give a review date between 1900 and 2999."
)


class PlanCreateSchema(Schema):
    content = fields.Nested(
        PlanContentSchema,
        load_default=None,
        metadata={"description": "Left out: a copy of the current plan (goal ids kept)"},
    )
    review_date = fields.Date(load_default=None, allow_none=True, validate=REVIEW_YEARS)


class PlanReplaceSchema(Schema):
    content = fields.Nested(PlanContentSchema, required=True)
    review_date = fields.Date(load_default=None, allow_none=True, validate=REVIEW_YEARS)


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


def _answer(view: dict):
    return view, 200, etag(view["version"])


@blp.route("/clients/<uuid:client_id>/treatment-plans")
class ClientPlans(MethodView):
    decorators = [login_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(TreatmentPlanSchema))
    def get(self, args, client_id):
        """The client's plan versions, newest first (the first signed one is current)."""
        return plans.page_of_plans(
            current_actor(), client_id, page=args["page"], page_size=args["page_size"]
        )

    @blp.arguments(PlanCreateSchema)
    @blp.response(201, TreatmentPlanSchema)
    @blp.alt_response(409, description="The client has a draft plan already")
    def post(self, args, client_id):
        """Start a new version as a draft (version 1): the content given, or a copy of the
        current plan."""
        view = plans.start(current_actor(), client_id, args["content"], args["review_date"])
        return view, 201, etag(view["version"])


@blp.route("/treatment-plans/<uuid:treatment_plan_id>")
class PlanItem(MethodView):
    decorators = [login_required]

    @blp.response(200, TreatmentPlanSchema)
    def get(self, treatment_plan_id):
        """One plan version (ETag = version)."""
        return _answer(plans.read(current_actor(), treatment_plan_id))

    @blp.arguments(PlanReplaceSchema)
    @blp.response(200, TreatmentPlanSchema)
    @blp.alt_response(409, description="The plan is signed")
    @if_match
    def put(self, args, treatment_plan_id):
        """Replace a draft's content and review date; send If-Match with the version you read."""
        view = plans.update(
            current_actor(),
            treatment_plan_id,
            args["content"],
            args["review_date"],
            sent=sent_versions(),
        )
        return _answer(view)


@blp.route("/treatment-plans/<uuid:treatment_plan_id>/sign")
class PlanSign(MethodView):
    decorators = [login_required]

    @blp.response(200, TreatmentPlanSchema)
    @blp.alt_response(409, description="The plan is signed already")
    @if_match
    def post(self, treatment_plan_id):
        """Sign a draft at the version you read (If-Match): it becomes the current plan."""
        return _answer(plans.sign(current_actor(), treatment_plan_id, sent=sent_versions()))


@blp.route("/treatment-plans/<uuid:treatment_plan_id>/discard")
class PlanDiscard(MethodView):
    decorators = [login_required]

    @blp.response(204)
    @blp.alt_response(403, description="The draft's author is still in the client's care")
    @blp.alt_response(409, description="The plan is signed: it is kept for good")
    @if_match
    def post(self, treatment_plan_id):
        """Discard a draft at the version you read (If-Match), so a new version can be
        started. Its author may; another clinician in the client's care may once the
        author has left the care or been deactivated, or the draft has been untouched
        for 30 days. A signed plan is never discarded."""
        plans.discard(current_actor(), treatment_plan_id, sent=sent_versions())
        return "", 204
