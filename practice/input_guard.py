"""Bad input stopped at the request boundary (SECURITY 31), for every operation at once.

Before any view, schema or database sees a request: a JSON body may nest at most
`MAX_JSON_DEPTH` levels (checked on the raw bytes, before parsing); no string in the body
(keys included), the query string, a form or the path may hold a NUL byte or a lone UTF-16
surrogate (PostgreSQL and every encoder refuse them); and any string that reads as an
ISO 8601 date or time must lie between `EARLIEST` and `LATEST` once its offset is applied,
so no later date arithmetic or UTC conversion can overflow. A refusal answers in the API
error shape and logs one line naming the request's route and the kind of input, never
the input itself.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider

log = logging.getLogger("practice.http")

MAX_JSON_DEPTH = 32
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # exclusive
MAX_DATE_CHARS = 64
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
TEXT_MESSAGE = "Text must not contain NUL characters or unpaired surrogates."
DATE_MESSAGE = "Dates and times must lie between the years 1000 and 8999 (in UTC)."
PATH_MESSAGE = "Nothing is found at a path with NUL characters or unpaired surrogates."
DEPTH_MESSAGE = f"The request body nests deeper than {MAX_JSON_DEPTH} levels."

_BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]").search
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_OPENING = frozenset(b"[{")


def json_depth_exceeds(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text nests arrays/objects deeper than `limit` (no parsing)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    depth = 0
    for byte in _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw)):
        depth = depth + 1 if byte in _OPENING else depth - 1
        if depth > limit:
            return True
    return False


class DepthLimitedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, refusing (ValueError, i.e. "not JSON") over-deep documents
    before the recursive parser can raise RecursionError — for every `get_json` caller,
    including those that run before the boundary check (the login rate limiter's key)."""

    def loads(self, s, **kwargs):
        if json_depth_exceeds(s):
            raise ValueError(DEPTH_MESSAGE)
        return super().loads(s, **kwargs)


def _date_out_of_range(text: str) -> bool:
    if not (7 <= len(text) <= MAX_DATE_CHARS and text[:4].isdigit()):
        return False
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return False  # not a date: the field (if any) decides
    try:
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        return True
    return not EARLIEST <= moment < LATEST


def string_problem(text: str) -> str | None:
    """Why this string is refused at the boundary, or None."""
    if _BAD_CHARACTERS(text):
        return TEXT_MESSAGE
    if _date_out_of_range(text):
        return DATE_MESSAGE
    return None


def _body_errors(body) -> dict:
    """Field errors (marshmallow's nesting: keys, list indexes) for refused strings."""
    errors: dict = {}
    stack: list[tuple[tuple, object]] = [((), body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if _BAD_CHARACTERS(key):
                    _put(errors, (*path, "<key>"), TEXT_MESSAGE)
                else:
                    stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, index), item) for index, item in enumerate(value))
        elif isinstance(value, str) and (problem := string_problem(value)):
            _put(errors, path or ("_schema",), problem)
    return errors


def _put(errors: dict, path: tuple, message: str) -> None:
    for part in path[:-1]:
        errors = errors.setdefault(part, {})
    errors[path[-1]] = [message]


def _pair_errors(pairs) -> dict:
    """Errors of a query string's or a form's (key, value) pairs."""
    errors: dict = {}
    for key, value in pairs:
        if _BAD_CHARACTERS(key):
            errors["<key>"] = [TEXT_MESSAGE]
        elif problem := string_problem(value):
            errors[key] = [problem]
    return errors


def _refuse(code: int, kind: str, message: str, errors: dict | None = None) -> Response:
    # Imported here, not at the top: practice.http imports this module (a real cycle).
    from practice.http import _http, error_response

    rule = request.url_rule.rule if request.url_rule else "<no route>"
    log.info("refused bad input (%s) on %s %s", kind, request.method, rule)
    error = _http(code, message)
    if errors:
        error.data["errors"] = errors
    return error_response(error)


def refuse_bad_input() -> Response | None:
    """Before-request hook: the checks of this module, in the order a parser meets them."""
    if _BAD_CHARACTERS(request.path):
        return _refuse(404, "path", PATH_MESSAGE)  # no resource is named so: not found
    if errors := _pair_errors(request.args.items(multi=True)):
        return _refuse(422, "query", "The query string was refused.", {"query": errors})
    if request.mimetype in FORM_TYPES and (errors := _pair_errors(request.form.items(multi=True))):
        return _refuse(422, "form", "The form was refused.", {"form": errors})
    if not request.is_json:
        return None  # no JSON to read (a non-JSON body gets 415 from check_json_body)
    raw = request.get_data(cache=True)
    if raw and json_depth_exceeds(raw):
        return _refuse(400, "depth", DEPTH_MESSAGE)
    body = request.get_json(silent=True)
    if body is not None and (errors := _body_errors(body)):
        return _refuse(422, "body", "The request body was refused.", {"json": errors})
    return None


def init_app(app: Flask) -> None:
    """Install the depth-limited JSON parser and the boundary check (before other hooks
    that read the body)."""
    app.json = DepthLimitedJSONProvider(app)
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_bad_input)
