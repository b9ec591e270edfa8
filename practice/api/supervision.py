"""Your supervision links: who supervises you and whom you supervise, and your answer.

An owner asks for a link (POST /api/v1/users/{supervisor}/supervisees/{clinician}); it
gives the supervisor nothing until the supervised clinician accepts it here. The
clinician sees pending requests and the links in effect (who, since when), accepts or
declines, and can end a link at any time; the supervisor can end it too (or withdraw a
pending request), and so can an owner. Links of other users answer 404.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from practice.auth import policy, supervision
from practice.auth.models import Supervision

blp = Blueprint(
    "supervision",
    __name__,
    url_prefix="/api/v1/auth/supervision",
    description="Your supervision links: accept, decline, end",
)

STATUSES = "pending, active, declined, withdrawn, ended or role_removed"


class PersonSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    email = fields.String()


class SupervisionSchema(Schema):
    id = fields.UUID()
    status = fields.String(metadata={"description": STATUSES})
    supervisor = fields.Nested(PersonSchema)
    supervisee = fields.Nested(PersonSchema)
    requested_at = fields.DateTime(attribute="created_at")
    accepted_at = fields.DateTime(
        allow_none=True, metadata={"description": "In effect since; null while pending."}
    )
    ended_at = fields.DateTime(allow_none=True)


class MySupervisionSchema(Schema):
    supervised_by = fields.List(
        fields.Nested(SupervisionSchema),
        metadata={"description": "Links supervising you: pending requests and links in effect."},
    )
    supervising = fields.List(
        fields.Nested(SupervisionSchema),
        metadata={"description": "Links in which you supervise: pending and in effect."},
    )


def get_link_for(user, link_id) -> Supervision:
    """An open link in which the user is supervisor or supervisee, or 404."""
    link = supervision.get_link_for(user, link_id)
    if link is None:
        policy.deny("supervision", link_id, message="No such supervision link.")
    return link


def _answer(step, link_id) -> Supervision:
    """Run the supervisee's `step` on the link: 403 for its supervisor (audited); a state
    that no longer allows the step is the domain's Conflict (supervision.Refused)."""
    link = get_link_for(current_user, link_id)
    try:
        return step(current_user, link)
    except PermissionError as exc:
        policy.deny("supervision", link_id, forbidden=True, message=str(exc))


@blp.route("")
class MySupervision(MethodView):
    @login_required
    @blp.response(200, MySupervisionSchema)
    def get(self):
        """Your open supervision links, oldest first."""
        supervised_by, supervising = supervision.links_of(current_user)
        return {"supervised_by": supervised_by, "supervising": supervising}


@blp.route("/<uuid:link_id>")
class SupervisionLink(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, link_id):
        """End a link you are part of (as supervisee or supervisor); a pending request is
        declined or withdrawn. The supervisor loses access at once."""
        if not supervision.end(current_user, get_link_for(current_user, link_id)):
            abort(404, message="No such supervision link.")


@blp.route("/<uuid:link_id>/accept")
class SupervisionAccept(MethodView):
    @login_required
    @blp.response(200, SupervisionSchema)
    @blp.alt_response(409, description="The request was withdrawn or declined meanwhile")
    def post(self, link_id):
        """Accept a request to supervise you: from now the supervisor reads your notes
        (read-only) until you, they or an owner end the link."""
        return _answer(supervision.accept, link_id)


@blp.route("/<uuid:link_id>/decline")
class SupervisionDecline(MethodView):
    @login_required
    @blp.response(200, SupervisionSchema)
    @blp.alt_response(409, description="The link is in effect (end it) or already ended")
    def post(self, link_id):
        """Decline a pending request to supervise you; it never takes effect."""
        return _answer(supervision.decline, link_id)
