"""Output schemas shared by several resource files."""

from marshmallow import Schema, fields


class PracticeSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    timezone = fields.String()
    require_totp = fields.Boolean()
    phone_region = fields.String(allow_none=True)


class UserSchema(Schema):
    id = fields.UUID()
    email = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()
    totp_enabled = fields.Boolean()
    created_at = fields.DateTime()


class MeSchema(UserSchema):
    password_reset_required = fields.Boolean()
    totp_recovery_codes_left = fields.Integer()
    practice = fields.Nested(PracticeSchema)
