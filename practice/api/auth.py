"""Login, logout, the current user, the CSRF token, password and email change, the TOTP factor.

Login answers 401 with one body for every failure (unknown email, wrong password,
deactivated account, missing or wrong TOTP code), and 429 with one body and Retry-After
once failures from an address or against an account pass the limits of
practice.auth.throttle — for known and unknown emails alike. What outlives a session
(tokens, the second factor, email, password) asks for the password again, and a code
when a second factor is enrolled (service.reauthenticate): 403 when wrong.

When the practice requires TOTP and the user has not enrolled, login still succeeds,
with `totp_enrolment_required: true`: the session may then reach only /auth/me,
/auth/csrf, /auth/logout, /auth/totp/setup and /auth/totp/enable; everything else
answers 403 until /auth/totp/enable confirms a code (see practice.login).
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from practice import login
from practice.api.common import TrimmedEmail, reauthenticate
from practice.api.schemas import MeSchema
from practice.api.tokens import TokenSchema
from practice.auth import service, totp

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Authentication")

LOGIN_FAILED = service.SIGN_IN_FAILED
PASSWORD_FIELD = validate.Length(min=1, max=1024)
CODE_FIELD = validate.Length(min=1, max=32)  # a TOTP code, or a recovery code
SECOND_FACTOR = "A current TOTP code or a recovery code; needed when you have enrolled one."


class ReauthSchema(Schema):
    """The password again, and the second factor when enrolled."""

    password = fields.String(required=True, validate=PASSWORD_FIELD)
    totp = fields.String(validate=CODE_FIELD, metadata={"description": SECOND_FACTOR})


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
    totp = fields.String(validate=CODE_FIELD, metadata={"description": SECOND_FACTOR})
    new_password = fields.String(required=True, validate=PASSWORD_FIELD)
    revoke_tokens = fields.Boolean(
        load_default=False,
        metadata={"description": "Also revoke every API token of yours (default: keep them)."},
    )


class PasswordChangedSchema(Schema):
    tokens = fields.List(
        fields.Nested(TokenSchema),
        metadata={"description": "Your API tokens that still work after this change."},
    )
    tokens_revoked = fields.Integer(metadata={"description": "How many tokens were revoked."})


class EmailChangeSchema(ReauthSchema):
    email = TrimmedEmail(required=True, validate=validate.Length(max=254))


class EmptySchema(Schema):
    """No fields: an unknown one is a 422."""


class TotpSetupSchema(Schema):
    secret = fields.String()
    otpauth_uri = fields.String()


class TotpEnableSchema(Schema):
    password = fields.String(required=True, validate=PASSWORD_FIELD)
    code = fields.String(
        required=True, validate=CODE_FIELD, metadata={"description": "From the new authenticator."}
    )


class TotpDisableSchema(Schema):
    password = fields.String(required=True, validate=PASSWORD_FIELD)
    code = fields.String(
        required=True, validate=CODE_FIELD, metadata={"description": SECOND_FACTOR}
    )


class TotpEnabledSchema(MeSchema):
    recovery_codes = fields.List(
        fields.String(), metadata={"description": "Shown once: each works once instead of a code."}
    )


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String())


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.doc(security=[])
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(401, description="Wrong email, password or second factor")
    @blp.alt_response(429, description="Too many failed attempts (known and unknown emails alike)")
    def post(self, args):
        """Log in with email and password (and TOTP code when enabled); sets the session cookie."""
        user, record, secret = service.sign_in(args["email"], args["password"], args.get("totp"))
        login.open_session(secret)
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
        login.sign_out()


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
        record = login.current_session()
        if record is None:
            abort(400, message="Only cookie sessions use a CSRF token.")
        return {"csrf_token": record.csrf_token}


@blp.route("/password")
class Password(MethodView):
    @login_required
    @blp.arguments(PasswordChangeSchema)
    @blp.response(200, PasswordChangedSchema)
    @blp.alt_response(403, description="Current password or second factor not correct")
    @blp.alt_response(429, description="Too many failed attempts")
    def post(self, args):
        """Change your password (with the current one, and a code when you use a second
        factor); every other session of yours ends at once. The answer lists the API
        tokens that still work; `revoke_tokens: true` revokes them all as well."""
        user = current_user._get_current_object()
        reauthenticate("auth.password_change", args["current_password"], args.get("totp"))
        service.change_password(user, args["new_password"])
        revoked = service.finish_password_change(user, revoke_tokens=args["revoke_tokens"])
        return {"tokens": service.live_tokens_of(user), "tokens_revoked": revoked}


@blp.route("/email")
class Email(MethodView):
    @login_required
    @blp.arguments(EmailChangeSchema)
    @blp.response(200, MeSchema)
    @blp.alt_response(403, description="Password or second factor not correct")
    @blp.alt_response(429, description="Too many failed attempts")
    def post(self, args):
        """Change the email you sign in with (with your password, and a code when you use
        a second factor). Every other session of yours ends and every API token of yours
        is revoked."""
        user = current_user._get_current_object()
        reauthenticate("auth.email_change", args["password"], args.get("totp"))
        service.change_email(user, args["email"])
        return user


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
        return {"secret": secret, "otpauth_uri": uri}


@blp.route("/totp/enable")
class TotpEnable(MethodView):
    @login_required
    @blp.arguments(TotpEnableSchema)
    @blp.response(200, TotpEnabledSchema)
    @blp.alt_response(403, description="Password not correct")
    @blp.alt_response(429, description="Too many failed attempts")
    def post(self, args):
        """Confirm enrolment with your password and a current code from the new
        authenticator; login then asks for a code every time. The answer carries ten
        recovery codes, shown this once: each works once in place of a code when the
        authenticator is gone."""
        user = current_user._get_current_object()
        if not user.totp_enabled:  # else refused below: there is nothing to confirm
            reauthenticate("auth.totp_enable", args["password"], None)
        codes = totp.enable(user, args["code"])
        user.recovery_codes = codes  # for this response only: never stored in plain
        return user


@blp.route("/totp/disable")
class TotpDisable(MethodView):
    @login_required
    @blp.arguments(TotpDisableSchema)
    @blp.response(204)
    @blp.alt_response(403, description="Password or code not correct")
    @blp.alt_response(429, description="Too many failed attempts")
    def post(self, args):
        """Turn TOTP off with your password and a current code (unless the practice requires it)."""
        user = current_user._get_current_object()
        reauthenticate("auth.totp_disable", args["password"], args["code"])
        totp.disable(user)


@blp.route("/totp/recovery-codes")
class TotpRecoveryCodes(MethodView):
    @login_required
    @blp.arguments(TotpDisableSchema)
    @blp.response(200, RecoveryCodesSchema)
    @blp.alt_response(403, description="Password or code not correct")
    @blp.alt_response(429, description="Too many failed attempts")
    def post(self, args):
        """New recovery codes with your password and a current code; the old ones stop
        working. Shown this once."""
        user = current_user._get_current_object()
        reauthenticate("auth.totp_recovery_codes", args["password"], args["code"])
        codes = totp.regenerate_recovery_codes(user)
        return {"recovery_codes": codes}
