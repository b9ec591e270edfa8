"""The OpenAPI document tells the truth about every operation, from one place.

Views declare only what is theirs alone: `@blp.doc(security=[])` for an operation
anyone may call, `@if_match` for a write that needs the version read, `@if_none_match`
for a conditional GET, `@blp.alt_response(409, ...)` (or 429) where a view refuses so,
and `@blp.response(200, FILE, content_type=...)` for a file. Everything else is
derived here from what the document already says about an operation (its method, path
parameters, tag, response schema), so a route added later is documented like its
neighbours without a line of its own:

- security: the session cookie (plus the `X-CSRF-Token` header on writes) or a bearer
  token, per operation;
- error statuses in the error envelope (`ErrorSchema`), by the rules in `ERRORS`;
- `ETag` on every 2xx answer whose body is an object with an `id` and a `version`.

Schemas get the same treatment: a nullable nested object is that object or null
(never "any object"), and `@exactly_one_of` on a request schema becomes a `oneOf` of
its variants, the form a schema can state.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api, Blueprint

from practice.api.common import ErrorSchema

UNSAFE = frozenset({"post", "put", "patch", "delete"})
# Tags (blueprints) whose answers decrypt a client's clinical record: a shredded client
# answers 410 there.
CLINICAL_TAGS = frozenset({"notes", "figures", "scripts", "themes", "measures"})
ERROR_REF = {"$ref": "#/components/schemas/Error"}
IF_MATCH_MARK = "x-practice-if-match"
IF_NONE_MATCH_MARK = "x-practice-if-none-match"
# A response body for a file answer; with `content_type=` it names the media type.
FILE = {"type": "string"}

SECURITY_SCHEMES = {
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "practice_session",
        "description": "The session cookie set by `POST /api/v1/auth/login`. Writes made "
        "with it (POST, PUT, PATCH, DELETE) must also send the `csrf` header.",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "The `csrf_token` of the login answer (or `GET /api/v1/auth/csrf`); "
        "required with the session cookie on every write, never with a bearer token.",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (`POST /api/v1/auth/tokens`); needs no CSRF header.",
    },
    "calendarFeedToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "The secret of a clinician's calendar feed "
        "(`POST /api/v1/clinicians/{id}/calendar-token`).",
    },
}
READ_SECURITY = [{"session": []}, {"bearer": []}]
WRITE_SECURITY = [{"session": [], "csrf": []}, {"bearer": []}]


def _unsafe(trait: dict) -> bool:
    return trait["method"] in UNSAFE


# status: (when it applies, what it means). A trait is a dict with the operation's
# method, path parameters, tags, whether it is public and whether it needs If-Match.
ERRORS: dict[int, tuple[Callable[[dict], bool], str]] = {
    400: (
        lambda t: True,
        "Malformed request: a body that is not JSON or nests too deep, or a path with "
        "NUL characters or unpaired surrogates",
    ),
    401: (lambda t: not t["public"], "Not signed in, or the session or token has ended"),
    403: (
        lambda t: not t["public"],
        "Signed in, but not allowed: a role this needs, the X-CSRF-Token header on a "
        "cookie write, or a step the account must take first (choose a password, enrol "
        "a second factor)",
    ),
    404: (lambda t: bool(t["path_parameters"]), "No such object, or not yours to see"),
    410: (
        lambda t: bool(CLINICAL_TAGS & set(t["tags"])),
        "The client's clinical record was destroyed (shredded)",
    ),
    412: (lambda t: t["if_match"], "Stale: the object changed since the version sent"),
    415: (_unsafe, "A request body that is not application/json"),
    422: (lambda t: True, "Invalid parameters or body; `errors` names the fields"),
    428: (
        lambda t: t["if_match"],
        "If-Match is missing (send the ETag you last read; `*` is refused)",
    ),
    503: (
        lambda t: True,
        "The database is unavailable, or the server is misconfigured (a key it needs is "
        "missing); try again later",
    ),
}
ETAG_HEADER = {
    "description": "The version of the object, quoted; send it back as If-Match.",
    "required": True,
    "schema": {"type": "string"},
}


def if_match(view):
    """Mark a write that needs `If-Match: "<version>"` (documented required; 412, 428)."""
    return Blueprint.doc(**{IF_MATCH_MARK: True})(view)


def if_none_match(view):
    """Mark a GET that answers 304 to a matching `If-None-Match`."""
    return Blueprint.doc(**{IF_NONE_MATCH_MARK: True})(view)


def exactly_one_of(*names: str, optional: bool = False):
    """Class decorator for a request schema that takes one of `names` (at most one when
    `optional`): documented as a `oneOf` of one variant per choice. The schema still
    validates it itself."""

    def mark(cls):
        cls.openapi_one_of = (names, optional)
        return cls

    return mark


class TruthPlugin(BasePlugin):
    """apispec plugin: the rules of the module docstring, per operation and schema."""

    def init_spec(self, spec) -> None:
        self.spec = spec

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        rule = getattr(schema, "openapi_one_of", None)
        if rule is None or not definition:
            return None
        names, optional = rule
        base = dict(definition)
        definition.clear()
        variants = []
        if optional:
            variants.append((f"{name}WithNeither", None))
        variants += [(f"{name}With{_camel(choice)}", choice) for choice in names]
        for variant_name, choice in variants:
            variant = deepcopy(base)
            for other in names:
                if other != choice:
                    variant["properties"].pop(other, None)
            if choice is not None:
                variant["required"] = sorted({*variant.get("required", []), choice})
            self.spec.components.schema(variant_name, variant)
        definition["oneOf"] = [{"$ref": f"#/components/schemas/{n}"} for n, _ in variants]
        return None

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        path_parameters = sorted(rule.arguments) if rule is not None else []
        for method, operation in (operations or {}).items():
            self._document(method, operation, path_parameters)

    def _document(self, method: str, operation: dict, path_parameters: list[str]) -> None:
        marked = operation.pop(IF_MATCH_MARK, False)
        conditional = operation.pop(IF_NONE_MATCH_MARK, False)
        trait = {
            "method": method,
            "path_parameters": path_parameters,
            "tags": operation.get("tags", []),
            # `@blp.doc(security=...)`: anyone may call it, or it has its own credential.
            "public": "security" in operation,
            "if_match": marked,
        }
        if not trait["public"]:
            operation["security"] = WRITE_SECURITY if method in UNSAFE else READ_SECURITY
        responses = {str(status): r for status, r in operation.get("responses", {}).items()}
        operation["responses"] = responses
        headers = []
        if marked:
            headers.append(
                {
                    "in": "header",
                    "name": "If-Match",
                    "required": True,
                    "description": 'The ETag (`"<version>"`) of the version you read.',
                    "schema": {"type": "string"},
                }
            )
        if conditional:
            headers.append(
                {
                    "in": "header",
                    "name": "If-None-Match",
                    "required": False,
                    "description": "The ETag you hold; 304 when it is still current.",
                    "schema": {"type": "string"},
                }
            )
            responses.setdefault("304", {"description": "Not modified"})
        if headers:
            operation["parameters"] = [*operation.get("parameters", []), *headers]
        for status, (applies, description) in ERRORS.items():
            if applies(trait):
                responses.setdefault(str(status), {"description": description})
        for status, response in responses.items():
            self._complete(status, response, conditional)

    def _complete(self, status: str, response, conditional: bool) -> None:
        """Errors carry the error envelope; versioned and conditional answers an ETag."""
        if not isinstance(response, dict):
            return  # a reference to a registered response, complete already
        if status.isdigit() and int(status) >= 400 and "content" not in response:
            response["content"] = {"application/json": {"schema": ERROR_REF}}
        if status.startswith("2") and (conditional or self._versioned(response)):
            response.setdefault("headers", {})["ETag"] = ETAG_HEADER
        if status == "304":
            response.setdefault("headers", {})["ETag"] = ETAG_HEADER

    def _versioned(self, response: dict) -> bool:
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        name = schema.get("$ref", "").rsplit("/", 1)[-1]
        properties = self.spec.components.schemas.get(name, {}).get("properties", {})
        return "id" in properties and "version" in properties


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def nullable_nested(_converter, _field, ret: dict, **_kwargs) -> dict:
    """A nested schema that may be null is that schema or null, not "any object or it"
    (apispec's OpenAPI 3.0 form lets any object through)."""
    branches = ret.get("anyOf")
    loose = {"type": "object", "nullable": True}
    if isinstance(branches, list) and loose in branches:
        refs = [branch for branch in branches if branch != loose]
        del ret["anyOf"]
        ret["allOf"] = refs
        ret["nullable"] = True
    return {}


def init_api(app: Flask, api: Api) -> None:
    """Bind flask-smorest to `app` with these rules, the security schemes and the error
    envelope."""
    api.ERROR_SCHEMA = ErrorSchema
    api.init_app(app, spec_kwargs={"extra_plugins": [TruthPlugin()]})
    api.ma_plugin.converter.add_attribute_function(nullable_nested)
    cookie = app.config.get("SESSION_COOKIE_NAME", "session")
    for name, scheme in SECURITY_SCHEMES.items():
        if name == "session":
            scheme = {**scheme, "name": cookie}
        api.spec.components.security_scheme(name, scheme)
