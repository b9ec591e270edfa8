"""Users of the practice and supervision requests (owners only).

Nothing an owner does here reaches clinical text: a password they set is temporary (the
user must choose their own before anything else), and a supervision link they ask for
takes effect only when the supervised clinician accepts it (api/supervision.py).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from practice.api.auth import ReauthSchema
from practice.api.common import (
    PageArgs,
    TrimmedEmail,
    page_of,
    paginate,
    reauthenticate,
)
from practice.api.schemas import UserSchema
from practice.api.supervision import SupervisionSchema
from practice.auth import admin, policy, supervision
from practice.auth.models import ROLES, User
from practice.extensions import db
from practice.login import roles_required

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users of the practice")


class StrictBoolean(fields.Boolean):
    """true or false only: 0, 1, "yes" and "false" are type errors, not booleans."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class UserCreateSchema(Schema):
    email = TrimmedEmail(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLES)),
        required=True,
        validate=validate.Length(min=1, max=len(ROLES)),
    )
    password = fields.String(required=True, validate=validate.Length(max=1024))


class UserUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLES)),
        validate=validate.Length(min=1, max=len(ROLES)),
    )
    active = StrictBoolean()


class UserListArgs(PageArgs):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()


def get_user_for(owner: User, user_id: uuid.UUID) -> User:
    """A user of the owner's practice, or 404."""
    user = db.session.get(User, user_id)
    if user is None or not policy.in_practice(owner, user):
        policy.deny("user", user_id)
    return user


@blp.route("")
class Users(MethodView):
    @roles_required("owner")
    @blp.arguments(UserListArgs, location="query")
    @blp.response(200, page_of(UserSchema))
    def get(self, args):
        """List the practice's users."""
        query = sa.select(User).where(User.practice_id == current_user.practice_id)
        if "role" in args:
            # role_names is space-separated; match whole words only.
            padded = " " + User.role_names + " "
            query = query.where(padded.contains(f" {args['role']} "))
        if "active" in args:
            query = query.where(User.active.is_(args["active"]))
        return paginate(query.order_by(User.name, User.id), args)

    @roles_required("owner")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, args):
        """Create a user with roles and a temporary password: at their first sign-in they
        can only choose their own (`password_reset_required`)."""
        user, _password = admin.create_user(current_user, **args)
        return user


@blp.route("/<uuid:user_id>")
class UserItem(MethodView):
    @roles_required("owner")
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One user of the practice."""
        return get_user_for(current_user, user_id)

    @roles_required("owner")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, args, user_id):
        """Change name or roles; `{"active": false}` deactivates and ends their sessions."""
        user = get_user_for(current_user, user_id)
        return admin.update_user(current_user, user, args)


@blp.route("/<uuid:user_id>/totp")
class UserTotp(MethodView):
    @roles_required("owner")
    @blp.arguments(ReauthSchema)
    @blp.response(204)
    @blp.alt_response(403, description="Your password or second factor not correct")
    @blp.alt_response(409, description="Your own factor: use /api/v1/auth/totp/disable")
    @blp.alt_response(429, description="Too many failed attempts")
    def delete(self, args, user_id):
        """Reset a user's second factor (a lost phone): it is removed, their sessions end
        and their API tokens are revoked (one may have gone with the phone); they enrol
        again at their next login when the practice requires it. Recent authentication:
        the body carries the owner's own `password`, and `totp` (a current code or a
        recovery code) when the owner has a second factor; a wrong answer is 403, audited
        as a failed `user.totp_reset` and counted by the sign-in throttle (429 when used
        up), so a stolen owner session cannot strip someone's factor."""
        user = get_user_for(current_user, user_id)
        reauthenticate("user.totp_reset", args["password"], args.get("totp"))
        admin.reset_second_factor(current_user, user)


@blp.route("/<uuid:user_id>/supervisees/<uuid:clinician_id>")
class Supervisee(MethodView):
    @roles_required("owner")
    @blp.response(201, SupervisionSchema)
    @blp.alt_response(200, schema=SupervisionSchema, description="A link was open already")
    def post(self, user_id, clinician_id):
        """Ask the clinician to accept this supervisor: the link is `pending`, and gives
        the supervisor nothing, until the clinician accepts it at
        /api/v1/auth/supervision/{link_id}/accept. An open link is answered as it is."""
        supervisor = get_user_for(current_user, user_id)
        clinician = get_user_for(current_user, clinician_id)
        link, created = supervision.request(current_user, supervisor, clinician)
        return link, 201 if created else 200

    @roles_required("owner")
    @blp.response(204)
    def delete(self, user_id, clinician_id):
        """End the link, or withdraw the pending request; the supervisor loses access at once."""
        supervisor = get_user_for(current_user, user_id)
        clinician = get_user_for(current_user, clinician_id)
        link = supervision.open_link(supervisor.id, clinician.id)
        if link is None or not supervision.end(current_user, link):
            abort(404, message="No such supervision link.")
