"""Login, logout, the current user and the CSRF token."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from practice.api.schemas import MeSchema
from practice.audit import service as audit
from practice.auth import passwords, service, sessions
from practice.extensions import db

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")

LOGIN_FAILED = "Email or password is incorrect."


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    totp = fields.String(validate=validate.Length(max=16))


class LoginResultSchema(Schema):
    user = fields.Nested(MeSchema)
    csrf_token = fields.String()


class CsrfSchema(Schema):
    csrf_token = fields.String()


def _fail(user=None):
    """Same 401 body whatever went wrong, committed so the failure counters stick."""
    audit.record(
        db.session,
        "auth.login_failed",
        object_type="user",
        object_id=user.id if user else None,
        outcome="failure",
        actor=user,
        practice_id=user.practice_id if user else None,
    )
    db.session.commit()
    abort(401, message=LOGIN_FAILED)


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(401, description="Wrong email, password or second factor")
    @blp.alt_response(429, description="Too many attempts")
    def post(self, args):
        """Log in with email and password (and TOTP code when enabled); sets the session cookie."""
        user = service.find_user_by_email(args["email"])
        if user is None:
            passwords.burn_time()
            _fail()
        if service.account_locked(user):
            audit.record(
                db.session,
                "auth.login_locked",
                object_type="user",
                object_id=user.id,
                outcome="denied",
                actor=user,
            )
            db.session.commit()
            abort(429, message="Too many failed attempts; try again later.")
        if not passwords.verify_password(user.password_hash, args["password"]) or not user.active:
            service.register_failed_login(user)
            _fail(user)
        service.register_successful_login(user, args["password"])
        record, _secret = sessions.start_session(user)
        audit.record(db.session, "auth.login", object_type="user", object_id=user.id, actor=user)
        return {"user": user, "csrf_token": record.csrf_token}


@blp.route("/logout")
class Logout(MethodView):
    @login_required
    @blp.response(204)
    def post(self):
        """End this session server-side."""
        audit.record(db.session, "auth.logout", object_type="user", object_id=current_user.id)
        sessions.end_current_session("logout")


@blp.route("/me")
class Me(MethodView):
    @login_required
    @blp.response(200, MeSchema)
    def get(self):
        """The logged-in user, their roles and practice."""
        return current_user


@blp.route("/csrf")
class Csrf(MethodView):
    @login_required
    @blp.response(200, CsrfSchema)
    def get(self):
        """The CSRF token for this cookie session (bearer-token callers need none)."""
        record = sessions.current_session()
        if record is None:
            abort(400, message="Only cookie sessions use a CSRF token.")
        return {"csrf_token": record.csrf_token}
