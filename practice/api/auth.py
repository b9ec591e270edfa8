"""Login, logout, the current user, the CSRF token, password change and the TOTP factor.

Login answers 401 with one body for every failure (unknown email, wrong password,
deactivated account, missing or wrong TOTP code), is throttled per client address and
per submitted email (flask-limiter, 429 with Retry-After), and locks an account for a
while after repeated failures (429).

When the practice requires TOTP and the user has not enrolled, login still succeeds,
with `totp_enrolment_required: true`: the session may then reach only /auth/me,
/auth/csrf, /auth/logout, /auth/totp/setup and /auth/totp/enable; everything else
answers 403 until /auth/totp/enable confirms a code (see practice.auth.sessions).
"""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from practice.api.common import refuse_fields
from practice.api.schemas import MeSchema
from practice.audit import service as audit
from practice.auth import passwords, service, sessions, totp
from practice.extensions import db, limiter

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")

LOGIN_FAILED = "Email or password is incorrect."
PASSWORD_FIELD = validate.Length(min=1, max=1024)
CODE_FIELD = validate.Length(min=1, max=32)  # a TOTP code, or a recovery code


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def submitted_email_key() -> str:
    """Rate-limit key: the normalised email in the body, hashed (no addresses in Redis)."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    email = service.normalise_email(email) if isinstance(email, str) else ""
    return "login-email:" + sessions.digest(email[:254])[:32]


def caller_key() -> str:
    """Rate-limit key for a logged-in user's sensitive actions (their id, else the address)."""
    user_id = getattr(current_user, "id", None)
    return f"user:{user_id}" if user_id else f"address:{request.remote_addr}"


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=PASSWORD_FIELD)
    totp = fields.String(validate=CODE_FIELD)


class LoginResultSchema(Schema):
    user = fields.Nested(MeSchema)
    csrf_token = fields.String()
    totp_enrolment_required = fields.Boolean()


class CsrfSchema(Schema):
    csrf_token = fields.String()


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=PASSWORD_FIELD)
    new_password = fields.String(required=True, validate=PASSWORD_FIELD)


class EmptySchema(Schema):
    """No fields: an unknown one is a 422."""


class TotpSetupSchema(Schema):
    secret = fields.String()
    otpauth_uri = fields.String()


class TotpEnableSchema(Schema):
    code = fields.String(required=True, validate=CODE_FIELD)


class TotpDisableSchema(Schema):
    password = fields.String(required=True, validate=PASSWORD_FIELD)
    code = fields.String(required=True, validate=CODE_FIELD)


class TotpEnabledSchema(MeSchema):
    recovery_codes = fields.List(
        fields.String(), metadata={"description": "Shown once: each works once instead of a code."}
    )


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String())


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


def _own_account(action: str, step, *args):
    """Run `step(*args)` on the caller's own account and audit it as `action`: success,
    or a failure answered 422 with the step's field errors. Returns what the step did."""
    try:
        result = step(*args)
    except service.PolicyError as exc:
        audit.record(
            db.session, action, object_type="user", object_id=current_user.id, outcome="failure"
        )
        refuse_fields(exc.errors)
    audit.record(db.session, action, object_type="user", object_id=current_user.id)
    return result


@blp.route("/login")
class Login(MethodView):
    @limiter.limit(_login_limit, key_func=submitted_email_key)
    @limiter.limit(_login_limit)
    @blp.arguments(LoginSchema)
    @blp.doc(security=[])
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
            retry = service.lock_seconds_left(user)
            abort(
                429,
                message="Too many failed attempts; try again later.",
                headers={"Retry-After": str(retry)},
            )
        if not passwords.verify_password(user.password_hash, args["password"]) or not user.active:
            service.register_failed_login(user)
            _fail(user)
        if user.totp_enabled and not totp.accept_code(user, args.get("totp")):
            service.register_failed_login(user)
            _fail(user)
        service.register_successful_login(user, args["password"])
        record, _secret = sessions.start_session(user)
        audit.record(db.session, "auth.login", object_type="user", object_id=user.id, actor=user)
        return {
            "user": user,
            "csrf_token": record.csrf_token,
            "totp_enrolment_required": user.totp_enrolment_pending,
        }


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


@blp.route("/password")
class Password(MethodView):
    @limiter.limit(_login_limit, key_func=caller_key)
    @login_required
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    def post(self, args):
        """Change your password; every other session of yours ends at once."""
        user = current_user._get_current_object()
        _own_account(
            "auth.password_change",
            service.change_password,
            user,
            args["current_password"],
            args["new_password"],
        )
        ended = sessions.end_sessions(user, "password_changed", keep=sessions.current_session())
        if ended:
            audit.record(db.session, "auth.sessions_ended", object_type="user", object_id=user.id)


@blp.route("/totp/setup")
class TotpSetup(MethodView):
    @login_required
    @blp.arguments(EmptySchema)
    @blp.response(200, TotpSetupSchema)
    @blp.alt_response(409, description="Already enabled")
    def post(self, _args):
        """Start TOTP enrolment: a new secret and otpauth URI; not active until confirmed."""
        user = current_user._get_current_object()
        if user.totp_enabled:
            abort(409, message="Two-factor authentication is already enabled; disable it first.")
        secret, uri = totp.begin_enrolment(user)
        audit.record(db.session, "auth.totp_setup", object_type="user", object_id=user.id)
        return {"secret": secret, "otpauth_uri": uri}


@blp.route("/totp/enable")
class TotpEnable(MethodView):
    @limiter.limit(_login_limit, key_func=caller_key)
    @login_required
    @blp.arguments(TotpEnableSchema)
    @blp.response(200, TotpEnabledSchema)
    def post(self, args):
        """Confirm enrolment with a current code; login then asks for a code every time.
        The answer carries ten recovery codes, shown this once: each works once in place
        of a code when the authenticator is gone."""
        user = current_user._get_current_object()
        codes = _own_account("auth.totp_enable", totp.enable, user, args["code"])
        user.recovery_codes = codes  # for this response only: never stored in plain
        return user


@blp.route("/totp/disable")
class TotpDisable(MethodView):
    @limiter.limit(_login_limit, key_func=caller_key)
    @login_required
    @blp.arguments(TotpDisableSchema)
    @blp.response(204)
    def post(self, args):
        """Turn TOTP off with your password and a current code (unless the practice requires it)."""
        user = current_user._get_current_object()
        _own_account("auth.totp_disable", totp.disable, user, args["password"], args["code"])


@blp.route("/totp/recovery-codes")
class TotpRecoveryCodes(MethodView):
    @limiter.limit(_login_limit, key_func=caller_key)
    @login_required
    @blp.arguments(TotpDisableSchema)
    @blp.response(200, RecoveryCodesSchema)
    def post(self, args):
        """New recovery codes with your password and a current code; the old ones stop
        working. Shown this once."""
        user = current_user._get_current_object()
        codes = _own_account(
            "auth.totp_recovery_codes",
            totp.regenerate_recovery_codes,
            user,
            args["password"],
            args["code"],
        )
        return {"recovery_codes": codes}
