"""Figures: the people in a client's life that notes and scripts refer to.

The assigned clinician reads and writes; a supervisor of an assigned clinician reads;
everyone else gets 404. Label, role and period are encrypted.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from practice.api.common import PageArgs, audit_refusals, page_of, paginate, refuse_fields
from practice.audit import service as audit
from practice.auth import policy
from practice.extensions import db
from practice.keys import client_keys
from practice.notes import figures, rules, service
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


def _refuse(exc: rules.Invalid):
    refuse_fields(exc.errors, "The figure was refused.")


@blp.route("/<uuid:client_id>/figures")
class Figures(MethodView):
    decorators = [login_required]

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(FigureSchema))
    def get(self, args, client_id):
        """The client's figures, the built-in therapist figure first."""
        client = service.get_clinical_client_for(current_user, client_id)
        if policy.can_do_clinical_work(current_user, client):
            # Created on first need by the client's clinicians; a supervisor's read
            # (read-only access) never writes.
            figures.ensure_therapist_figure(client, current_user)
        page = paginate(figures.figures_query(client), args)
        cipher = client_keys.client_cipher(client)
        audit.record(db.session, "figure.list", object_type="client", object_id=client.id)
        return {**page, "items": [figures.figure_view(f, cipher) for f in page["items"]]}

    @blp.arguments(FigurePayloadSchema)
    @blp.response(201, FigureSchema)
    def post(self, args, client_id):
        """Add a person in the client's life."""
        client = service.get_clinical_client_for(current_user, client_id, write=True)
        try:
            figure = figures.create_figure(current_user, client, args)
        except rules.Invalid as exc:
            _refuse(exc)
        return figures.figure_view(figure, client_keys.client_cipher(client))


@blp.route("/<uuid:client_id>/figures/<uuid:figure_id>")
class FigureItem(MethodView):
    decorators = [login_required]

    @blp.arguments(FigureUpdateSchema)
    @blp.response(200, FigureSchema)
    def patch(self, args, client_id, figure_id):
        """Change a figure's label, role or period."""
        client = service.get_clinical_client_for(current_user, client_id, write=True)
        figure = figures.get_figure(client, figure_id)
        try:
            figures.update_figure(client, figure, args)
        except rules.Invalid as exc:
            _refuse(exc)
        return figures.figure_view(figure, client_keys.client_cipher(client))
