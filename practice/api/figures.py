"""Figures: the people in a client's life that notes and scripts refer to.

The assigned clinician reads and writes; a supervisor of an assigned clinician reads;
everyone else gets 404. Label, role and period are encrypted.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from practice.api.common import PageArgs, audit_refusals, page_of
from practice.notes import figures
from practice.notes.template import FigurePayloadSchema, vocabularies

blp = Blueprint(
    "figures", __name__, url_prefix="/api/v1/clients", description="People in a client's life"
)
blp.after_request(audit_refusals)


class FigureUpdateSchema(Schema):
    label = fields.String(validate=validate.Length(min=1, max=100))
    role = fields.String(validate=validate.OneOf(vocabularies()["figure_roles"]))
    period = fields.String(validate=validate.OneOf(vocabularies()["figure_periods"]))


class FigureSchema(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    is_therapist = fields.Boolean()
    label = fields.String()
    role = fields.String()
    period = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


@blp.route("/<uuid:client_id>/figures")
class Figures(MethodView):
    decorators = [login_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(FigureSchema))
    def get(self, args, client_id):
        """The client's figures, the built-in therapist figure first."""
        return figures.list_figures(
            current_user, client_id, page=args["page"], page_size=args["page_size"]
        )

    @blp.arguments(FigurePayloadSchema)
    @blp.response(201, FigureSchema)
    def post(self, args, client_id):
        """Add a person in the client's life."""
        return figures.add_figure(current_user, client_id, args)


@blp.route("/<uuid:client_id>/figures/<uuid:figure_id>")
class FigureItem(MethodView):
    decorators = [login_required]

    @blp.arguments(FigureUpdateSchema)
    @blp.response(200, FigureSchema)
    def patch(self, args, client_id, figure_id):
        """Change a figure's label, role or period."""
        return figures.change_figure(current_user, client_id, figure_id, args)
