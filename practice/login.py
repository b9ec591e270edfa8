"""The request boundary for "who is calling", shared by the API and the web pages.

Cookies, bearer headers, CSRF, flask-login and the view decorators live here; the
records they name live in the domain (practice/auth/sessions.py). Every request starts
as nobody from its client address; once the caller is identified, the request's
`Actor` (practice/actor.py) names them and how they came, and is bound to the unit of
work, so services and the audit log get it without reading the request.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps

from flask import g, request, session
from flask_login import LoginManager, current_user, login_required
from flask_smorest import abort

from practice import actor as actors
from practice.actor import Actor
from practice.auth import policy, sessions
from practice.auth.models import User, UserSession
from practice.extensions import db

SESSION_KEY = "sid"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a user may reach while something must be done first: always these, plus the
# paths that do what is pending (enrol in TOTP, choose their own password).
_AUTH = "/api/v1/auth/"
PENDING_BASE_PATHS = frozenset(_AUTH + name for name in ("login", "logout", "me", "csrf"))
ENROLMENT_PATHS = PENDING_BASE_PATHS | {_AUTH + "totp/setup", _AUTH + "totp/enable"}
PASSWORD_PATHS = PENDING_BASE_PATHS | {_AUTH + "password"}


def current_actor() -> Actor:
    """This request's actor: the caller once identified (views that need one are behind
    login_required), else nobody from the client's address."""
    current_user._get_current_object()  # identifies (and binds) the caller, once
    return actors.acting(db.session)


def open_session(secret: str) -> None:
    """Put a new session's secret in the cookie (after a sign-in)."""
    session.clear()
    session[SESSION_KEY] = secret
    session.permanent = True


def sign_out() -> None:
    """The caller signs out: sessions.sign_out audits it and ends this request's session
    record; the cookie is cleared."""
    sessions.sign_out(current_user._get_current_object(), g.get("user_session"))
    session.clear()


def current_session() -> UserSession | None:
    """The session record of this request, when it is cookie-authenticated."""
    return g.get("user_session")


def _from_cookie() -> User | None:
    secret = session.get(SESSION_KEY)
    if not isinstance(secret, str):
        return None
    record = sessions.live_session(secret)
    if record is None:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or _form_csrf_token()
        if not hmac.compare_digest(sent.encode(), record.csrf_token.encode()):
            abort(403, message=f"Missing or invalid {CSRF_HEADER} header.")
    sessions.touch_session(record)
    g.user_session = record
    _act_as(record.user, "session", record)
    return record.user


def _form_csrf_token() -> str:
    """The token a page's form carries in a hidden field (pages only; the API takes the
    header alone)."""
    if request.path.startswith("/api/"):
        return ""
    token = request.form.get("csrf_token", "")
    return token if isinstance(token, str) else ""


def _from_bearer(header: str) -> User | None:
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    user = sessions.live_token(secret.strip())
    if user is None:
        return None
    _act_as(user, "token")
    return user


def _act_as(user: User, via: str, record: UserSession | None = None) -> None:
    actors.bind(db.session, actors.acting(db.session).with_user(user, via, record))


def load_user_from_request(_request) -> User | None:
    """Flask-Login's request loader: bearer token first, then the session cookie.

    A user with a pending step (TOTP enrolment, a reset password) reaches only the paths
    that complete it; everything else answers 403 until it is done.
    """
    header = request.headers.get("Authorization")
    if not request.path.startswith("/api/"):
        header = None  # pages take the session cookie only: a token never opens a page
    user = _from_bearer(header) if header else _from_cookie()
    if user is not None:
        _refuse_until_done(user, request.path)
    return user


def _refuse_until_done(user: User, path: str) -> None:
    """403 for everything but the pending steps' paths while a step is pending: TOTP
    enrolment the practice requires, a password an owner reset. Both can be pending;
    then the paths of both stay open."""
    allowed, todo = set(), []
    if user.totp_enrolment_pending:
        allowed |= ENROLMENT_PATHS
        todo.append("enrol in two-factor authentication at /api/v1/auth/totp/setup")
    if user.password_reset_required:
        allowed |= PASSWORD_PATHS
        todo.append("choose your own password at /api/v1/auth/password")
    if todo and path not in allowed:
        if not path.startswith("/api/"):
            g.pending_steps = todo  # pages send the user to the step (practice.web)
            return
        abort(403, message="First " + " and ".join(todo) + ".")


def forget_caller() -> None:
    """Start each request as nobody from the client's address. An app context (and its
    `g` and database session) can outlive one request, e.g. under the test client; a
    caller must never carry over."""
    for name in ("_login_user", "user_session", "pending_steps"):
        g.pop(name, None)
    actors.bind(db.session, Actor(user=None, address=_address(), via="anonymous"))


def forget_actor(_exc: BaseException | None = None) -> None:
    """After the request: the unit of work acts for nobody any more."""
    actors.bind(db.session, None)


def _address() -> str | None:
    address = request.remote_addr
    return address[:64] if address else None


def roles_required(*roles: str) -> Callable:
    """View decorator: logged in (401) and holding one of `roles` (403, audited)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.has_role(*roles):
                policy.deny("route", forbidden=True, message="Your role does not allow this.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def init_login_manager(manager: LoginManager) -> None:
    """Authenticate every request through `load_user_from_request`; 401 in the error shape."""
    manager.session_protection = None
    manager.request_loader(load_user_from_request)

    @manager.unauthorized_handler
    def _unauthorized():
        abort(401, message="Log in first.")
