"""HTTP conventions: the error envelope, JSON body rules, the commit at the request
boundary and the security headers. Views stay free of all of it."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import (
    Gone,
    HTTPException,
    InternalServerError,
    ServiceUnavailable,
    default_exceptions,
)

from practice import errors, input_guard
from practice.audit import service as audit
from practice.audit.service import CheckpointMissing, keep_refusals_only
from practice.extensions import db
from practice.keys.errors import CryptoError, ShreddedKeyError, UnknownKeyError

log = logging.getLogger("practice.http")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Keys of `abort(..., key=value)` that go into the error body next to code/status/message.
EXTRA_ERROR_KEYS = ("conflicts", "duplicates")

CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Pages of the web app (practice.web): own files only, no inline script or style.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def is_page_request() -> bool:
    """A request for a page of the web app (anything outside /api/), when it is mounted."""
    return not request.path.startswith("/api/") and "page_errors" in current_app.extensions


def error_response(error: HTTPException) -> Response:
    """The API.md error body for any HTTP error; an HTML page in the app's layout for
    page URLs (practice.web renders it)."""
    if is_page_request():
        return current_app.extensions["page_errors"](error)
    code = error.code or 500
    payload: dict = {"code": code, "status": error.name}
    data = getattr(error, "data", None) or {}
    payload["message"] = data.get("message") or error.description or error.name
    errors = data.get("errors") or data.get("messages")
    if errors:
        payload["errors"] = errors
    for key in EXTRA_ERROR_KEYS:
        if key in data:
            payload[key] = data[key]
    response = jsonify(payload)
    response.status_code = code
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if isinstance(error, HTTPException) and code == 405:
        response.headers["Allow"] = ", ".join(error.valid_methods or [])
    return response


# The one table from domain refusals (practice/errors.py) to HTTP statuses, for the API's
# error envelope and the web app's error pages alike. Most specific class first.
DOMAIN_STATUSES: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.Throttled, 429),
    (errors.NotFound, 404),
    (errors.Forbidden, 403),
    (errors.Unauthenticated, 401),
    (errors.Invalid, 422),
    (errors.Conflict, 409),
    (errors.Stale, 412),
    (errors.PreconditionRequired, 428),
    (errors.Gone, 410),
)


def domain_status(error: errors.DomainError) -> int:
    """The HTTP status of a domain refusal (422 for one the table does not name)."""
    return next((code for kind, code in DOMAIN_STATUSES if isinstance(error, kind)), 422)


def as_http(error: errors.DomainError) -> HTTPException:
    """The HTTP error that answers a domain refusal: its status, message, field errors
    (under their location, as the API's schemas report theirs), details and the
    Retry-After header of a throttled one."""
    http = default_exceptions[domain_status(error)](error.message)
    data: dict = {"message": error.message}
    if isinstance(error, errors.Invalid) and error.errors:
        data["errors"] = {error.location: error.errors}
    if isinstance(error, errors.Conflict):
        data.update(error.details)
    if isinstance(error, errors.Throttled) and error.retry_after is not None:
        data["headers"] = {"Retry-After": str(error.retry_after)}
    http.data = data
    return http


def handle_domain_error(error: errors.DomainError):
    return error_response(as_http(error))


def handle_http_exception(error: HTTPException):
    if error.code is None or 300 <= error.code < 400:
        return error
    return error_response(error)


def database_down(error: BaseException) -> bool:
    """True for errors that mean the database cannot be reached (answer 503, not 500)."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except DBAPIError:
        db.session.remove()


def handle_database_down(error: Exception):
    _rollback_quietly()
    log.error("database unavailable: %s", type(error).__name__)
    return error_response(ServiceUnavailable("The database is unavailable; try again shortly."))


def handle_unexpected(error: Exception):
    """500 with no detail; the transaction is rolled back; the traceback is logged,
    the request body never is. (HTTP errors have their own handler.)"""
    if database_down(error):
        return handle_database_down(error)
    _rollback_quietly()
    log.error(
        "unhandled %s on %s %s",
        type(error).__name__,
        request.method,
        request.url_rule.rule if request.url_rule else "<no route>",
        exc_info=(type(error), None, error.__traceback__),
    )
    return error_response(InternalServerError("An unexpected error occurred."))


INTEGRITY_MESSAGE = "This record failed an integrity check and cannot be shown."


SHREDDED_MESSAGE = (
    "This client's clinical record was destroyed when the client's key was shredded; "
    "their appointments remain."
)


def handle_crypto_failure(error: Exception):
    """A stored value failed to decrypt (tampered, moved, key missing): 500 with a generic
    message, an audit entry and a log line carrying ids only, never any text.

    500 because the request was fine and the fault is in the stored data or the keyring.
    """
    _record_crypto_refusal(error, "crypto.integrity_failure", "error", logging.ERROR)
    return error_response(InternalServerError(INTEGRITY_MESSAGE))


def handle_shredded(error: Exception):
    """The client's data key was destroyed on purpose (`flask clients shred`): 410, so a
    deliberate destruction is not reported, logged or audited as tampering."""
    _record_crypto_refusal(error, "crypto.shredded", "failure", logging.INFO)
    return error_response(Gone(SHREDDED_MESSAGE))


MISCONFIGURED_MESSAGE = (
    "The server is misconfigured and cannot answer this request; its operator has to fix it."
)


def handle_misconfigured(error: Exception):
    """The stored data is fine but the server lacks what it needs: a master key missing
    from the keyring (e.g. a restore without its keyring), or a lost audit checkpoint.
    503, never the integrity alarm that blames the data; `GET /api/v1/health` says which."""
    if isinstance(error, UnknownKeyError):
        _record_crypto_refusal(error, "crypto.key_missing", "error", logging.ERROR)
    else:
        _rollback_quietly()
        log.error("server misconfigured: %s", error)
    return error_response(ServiceUnavailable(MISCONFIGURED_MESSAGE))


def _record_crypto_refusal(error: Exception, action: str, outcome: str, level: int) -> None:
    db.session.rollback()
    table = getattr(error, "table", None)
    row_id = getattr(error, "row_id", None)
    log.log(
        level,
        "%s %s: table=%s column=%s row=%s client=%s",
        action,
        type(error).__name__,
        table,
        getattr(error, "column", None),
        row_id,
        getattr(error, "client_id", None),
    )
    audit.record(
        db.session, action, object_type=table or "record", object_id=row_id, outcome=outcome
    )


def check_json_body():
    """Unsafe requests with a body must send JSON (415) that parses (400)."""
    if request.method not in UNSAFE_METHODS or not request.path.startswith("/api/"):
        return None  # pages post forms
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
    if not has_body:
        return None
    if not request.is_json:
        return error_response(_http(415, "Request bodies must be application/json."))
    if request.get_json(silent=True) is None:
        return error_response(_http(400, "The request body is not valid JSON."))
    return None


def _http(code: int, message: str) -> HTTPException:
    error = default_exceptions[code]()
    error.data = {"message": message}
    return error


def finish_request(response: Response) -> Response:
    """Commit a successful request; roll back a failed one, keeping its refusal audit events."""
    try:
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
            if keep_refusals_only(db.session):
                db.session.commit()
    except Exception as error:
        if database_down(error):
            # The commit itself found the database gone: 503, never a 500.
            return handle_database_down(error)
        if isinstance(error, CheckpointMissing):
            return handle_misconfigured(error)
        _rollback_quietly()
        raise
    return response


# The headers every response gets unless the view set its own, built once.
_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
_HSTS = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
_NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def security_headers(response: Response) -> Response:
    headers = response.headers
    path = request.path
    page = not path.startswith("/api/")
    csp = PAGE_CSP if page else DOCS_CSP if path.startswith("/api/docs") else CSP
    wanted = [*_SECURITY_HEADERS, ("Content-Security-Policy", csp)]
    if current_app.config.get("SEND_HSTS"):
        wanted.append(_HSTS)
    # One pass over what the view set, instead of a search of the headers for each name.
    present = {name.lower() for name, _value in headers.items()}
    headers.extend([item for item in wanted if item[0].lower() not in present])
    if path.startswith("/api/v1/") or (page and not path.startswith("/static/")):
        for name, value in _NO_STORE:
            if name.lower() in present:
                headers[name] = value
            else:
                headers.add(name, value)
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(errors.DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
    app.register_error_handler(CryptoError, handle_crypto_failure)
    app.register_error_handler(ShreddedKeyError, handle_shredded)
    app.register_error_handler(UnknownKeyError, handle_misconfigured)
    app.register_error_handler(CheckpointMissing, handle_misconfigured)
    input_guard.init_app(app)
    app.before_request(check_json_body)
    app.after_request(security_headers)
    app.after_request(finish_request)
