"""Personal API tokens: create (secret shown once; needs the password again), list (prefix
only, last use), revoke. Every token expires."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from practice.api.common import PageArgs, page_of, paginate, reauthenticate
from practice.auth import policy, service
from practice.database import utcnow

blp = Blueprint(
    "tokens", __name__, url_prefix="/api/v1/auth/tokens", description="Personal API tokens"
)


class TokenCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    expires_at = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "At most PRACTICE_TOKEN_MAX_DAYS ahead (default 365); "
            "none: PRACTICE_TOKEN_DAYS (default 90)."
        },
    )
    password = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1024),
        metadata={"description": "Your password again, also when calling with a token."},
    )
    totp = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "A current TOTP code or a recovery code, when enrolled."},
    )


class TokenSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(
        allow_none=True, metadata={"description": "To the minute; none: never used."}
    )
    active = fields.Method("_active")

    def _active(self, token) -> bool:
        return token.revoked_at is None and token.expires_at > utcnow()


class TokenCreatedSchema(TokenSchema):
    secret = fields.String(metadata={"description": "Shown only in this response."})


@blp.route("")
class Tokens(MethodView):
    @login_required
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(TokenSchema))
    def get(self, args):
        """Your personal API tokens (never their secrets)."""
        return paginate(service.tokens_of(current_user), args)

    @login_required
    @blp.arguments(TokenCreateSchema)
    @blp.response(201, TokenCreatedSchema)
    @blp.alt_response(403, description="Password or second factor not correct")
    @blp.alt_response(429, description="Too many failed attempts")
    def post(self, args):
        """Create a token with your password (and a code when you use a second factor);
        the secret is in this response and nowhere else, ever."""
        reauthenticate("auth.token_create", args["password"], args.get("totp"))
        token, secret = service.issue_api_token(
            current_user, args["name"], expires_at=args["expires_at"]
        )
        token.secret = secret
        return token


@blp.route("/<uuid:token_id>")
class TokenItem(MethodView):
    @login_required
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of your tokens; it stops working at once."""
        token = service.revoke_api_token(current_user, token_id)
        if token is None:
            policy.deny("api_token", token_id, message="No such API token.")
