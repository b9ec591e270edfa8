"""What every page shares: the signed-in guard, the CSRF token, the layout's context and
the HTML error pages."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from practice import login
from practice.audit import service as audit
from practice.extensions import db

bp = Blueprint(
    "web",
    __name__,
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",
)

HTMX = "htmx-2.0.11.min.js"
LOGIN_CSRF = "login_csrf"
# Pages a user with a pending step (TOTP enrolment, a reset password) may still open.
STEP_ENDPOINTS = frozenset(
    {
        "web.static",
        "web_account.sign_out",
        "web_account.password",
        "web_account.two_factor",
        "web_account.two_factor_setup",
        "web_account.two_factor_enable",
        "web_account.account",
    }
)
TITLES = {
    400: ("Something in the request was not right", "The page could not use what was sent."),
    401: ("Please sign in", "Sign in to see this page."),
    403: ("Not allowed", "Your account may not do this."),
    404: ("Page not found", "There is no such page, or it is not yours to see."),
    405: ("Not possible here", "This page cannot be used that way."),
    409: ("This could not be done", "The record is in a state that does not allow this."),
    410: ("Gone", "This record was destroyed on purpose and cannot be shown."),
    412: ("Changed in the meantime", "Someone changed this since you opened it; reload."),
    413: ("Too much", "What was sent is too large."),
    422: ("Please check the form", "Something in the form could not be used."),
    428: ("Reload first", "Reload the page and try again."),
    429: ("Too many attempts", "Wait a little, then try again."),
    500: ("Something went wrong", "An unexpected error occurred; nothing was saved."),
    503: ("Unavailable for a moment", "The service is unavailable; try again shortly."),
}


def guard():
    """Before every page: a user with a pending step is sent to it (the API answers 403
    instead, see login._refuse_until_done)."""
    if request.path.startswith("/api/") or request.endpoint in STEP_ENDPOINTS:
        return None
    if current_user.is_authenticated and g.get("pending_steps"):
        if current_user.password_reset_required:
            return redirect(url_for("web_account.password"))
        return redirect(url_for("web_account.two_factor"))
    return None


def signed_in(view: Callable) -> Callable:
    """Pages need a signed-in user; a session that just ended (idle, absolute timeout,
    signed out elsewhere) gets the "you were signed out" page, keeping what was posted."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.is_authenticated:
            return view(*args, **kwargs)
        if session.get(login.SESSION_KEY) or request.method == "POST":
            return signed_out_page()  # a form posted when signed out keeps what it held
        return redirect(url_for("web_account.sign_in", next=request.full_path.rstrip("?")))

    return wrapper


def role_pages(*roles: str) -> Callable[[Callable], Callable]:
    """Pages for users holding one of `roles`; everyone else gets the 404 page, as for a
    page that does not exist (no link to it is drawn for them either)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @signed_in
        def wrapper(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(404)
            return view(*args, **kwargs)

        return wrapper

    return decorator


# Clinical pages: clinicians and supervisors.
clinician_pages = role_pages("clinician", "supervisor")
# Front-desk pages (calendar, booking, clients' demographics): owners and schedulers.
desk_pages = role_pages("owner", "scheduler")


def kept_form() -> list[tuple[str, str]]:
    """What a signed-out user had posted (their draft), to carry through signing in."""
    if request.method != "POST":
        return []
    return [
        (name, value)
        for name, values in request.form.lists()
        if name not in ("csrf_token", "action")
        for value in values
    ]


def signed_out_page():
    """The session ended: say so, offer to sign in again, and keep any posted form."""
    session.clear()
    login_token = fresh_login_token()
    return (
        render_template(
            "account/signed_out.html",
            kept=kept_form(),
            resume_path=request.path if request.method == "POST" else "",
            next_path=request.path if request.method == "GET" else "",
            login_token=login_token,
        ),
        401,
    )


def fresh_login_token() -> str:
    """The anonymous CSRF token of the sign-in forms (kept in the signed cookie)."""
    token = session.get(LOGIN_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[LOGIN_CSRF] = token
    return token


def safe_path(path: str | None) -> str:
    """A local path to return to after signing in; anything else is the home page."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return ""
    if path.startswith("/api/"):
        return ""
    return path


def refused(action: str, object_type: str, object_id) -> None:
    """Audit a refused write as the API does: its action, the object's id, no text."""
    audit.record(
        db.session, action, object_type=object_type, object_id=object_id, outcome="failure"
    )


def csrf_token() -> str:
    record = login.current_session()
    return record.csrf_token if record is not None else ""


def layout_context() -> dict:
    user = g.get("_login_user")
    signed = user is not None and getattr(user, "is_authenticated", False)
    return {
        "csrf_token": csrf_token,
        "htmx_file": HTMX,
        "me": user if signed else None,
        "clinical": signed and user.has_role("clinician", "supervisor"),
    }


def error_page(error: HTTPException):
    """An HTTP error on a page URL: the layout with a plain sentence (never JSON or a
    traceback). The service's message is shown when it has one: messages never carry
    clinical text."""
    if "_login_user" not in g:
        # The error came while finding the caller (a bad CSRF token, a pending step):
        # render as nobody, never trying again (flask-login's template context would).
        g._login_user = current_app.login_manager.anonymous_user()
    code = error.code or 500
    title, sentence = TITLES.get(code, (error.name, error.description or error.name))
    data = getattr(error, "data", None) or {}
    message = data.get("message")
    if message is None and error.description != type(error).description:
        message = error.description  # abort(code, "a plain sentence")
    if code >= 500:
        message = None
    if message and login.CSRF_HEADER in message:
        message = "The form expired or did not come from this site: go back, reload, try again."
    if code == 404:
        message = None  # the same page for "missing" and "not yours"
    response = render_template(
        "error.html", code=code, title=title, sentence=sentence, message=message
    )
    headers = dict(data.get("headers") or {})
    if code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return response, code, headers
