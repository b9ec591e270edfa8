"""Who is calling: server-side session records (cookie) and personal API tokens (bearer).

The cookie holds one opaque random secret; the database keeps only its SHA-256, so a
stolen database yields no usable sessions. Logout, password change and deactivation end
session records at once; idle and absolute timeouts are enforced here, server-side.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, request, session
from flask_login import LoginManager
from flask_smorest import abort

from practice.audit import service as audit
from practice.auth.models import ApiToken, User, UserSession
from practice.database import utcnow
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
# Write last_seen_at (sessions) and last_used_at (API tokens) at most this often, so
# reads do not each cost a write.
TOUCH_EVERY = timedelta(seconds=30)
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (sessions, API tokens, feed tokens)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(user: User) -> tuple[UserSession, str]:
    """A new session record for `user`; the caller puts the secret in the cookie."""
    secret = secrets.token_urlsafe(32)
    record = UserSession(
        user_id=user.id,
        secret_hash=digest(secret),
        csrf_token=secrets.token_urlsafe(32),
        address=request.remote_addr,
    )
    db.session.add(record)
    db.session.flush()
    session.clear()
    session[SESSION_KEY] = secret
    session.permanent = True
    return record, secret


def end_sessions(user: User, reason: str, *, keep: UserSession | None = None) -> int:
    """End every live session of `user` (except `keep`); returns how many."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    result = db.session.execute(
        query.values(ended_at=utcnow(), ended_reason=reason),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0


def revoke_all_api_tokens(user: User) -> int:
    """Revoke every live token of `user` (deactivation, a password or second-factor
    reset, an email change: reactivating or recovering must not revive them); returns
    how many."""
    result = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0


def end_current_session(reason: str = "logout") -> None:
    """End this request's session record and clear the cookie."""
    record = g.get("user_session")
    if record is not None and record.ended_at is None:
        record.ended_at = utcnow()
        record.ended_reason = reason
    session.clear()


def current_session() -> UserSession | None:
    """The session record of this request, when it is cookie-authenticated."""
    return g.get("user_session")


def _expired(record: UserSession) -> str | None:
    now = utcnow()
    cfg = current_app.config
    if now - record.created_at > timedelta(hours=cfg["SESSION_MAX_HOURS"]):
        return "absolute_timeout"
    if now - record.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return "idle_timeout"
    return None


def _from_cookie() -> User | None:
    secret = session.get(SESSION_KEY)
    if not isinstance(secret, str):
        return None
    record = db.session.scalar(
        sa.select(UserSession).where(UserSession.secret_hash == digest(secret))
    )
    if record is None:
        return None
    if record.ended_at is not None:
        return _rejected("session", record)
    reason = _expired(record)
    if reason:
        record.ended_at = utcnow()
        record.ended_reason = reason
        _rejected("session", record)
        db.session.commit()
        return None
    user = record.user
    if not user.active:
        return _rejected("session", record)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or _form_csrf_token()
        if not hmac.compare_digest(sent.encode(), record.csrf_token.encode()):
            abort(403, message=f"Missing or invalid {CSRF_HEADER} header.")
    now = utcnow()
    if now - record.last_seen_at > TOUCH_EVERY:
        record.last_seen_at = now
    g.user_session = record
    return user


def _form_csrf_token() -> str:
    """The token a page's form carries in a hidden field (pages only; the API takes the
    header alone)."""
    if request.path.startswith("/api/"):
        return ""
    token = request.form.get("csrf_token", "")
    return token if isinstance(token, str) else ""


# Credential id -> when its last rejection was audited (this process; monotonic seconds).
_REJECTIONS_AUDITED: dict = {}
REJECTION_AUDIT_EVERY = 600.0
_REJECTIONS_REMEMBERED = 10_000


def _rejected(kind: str, credential: ApiToken | UserSession) -> None:
    """A known credential that no longer works (revoked, ended, expired, or its user
    deactivated): audit the attempt against its owner; the request is answered 401.

    At most one entry per credential every REJECTION_AUDIT_EVERY seconds (per process),
    so someone replaying a dead token cannot flood the chain. Unknown secrets are not
    audited: they name nobody, and anyone could fill the log with them (failed logins
    are audited, and throttled, at the login endpoint)."""
    now = time.monotonic()
    last = _REJECTIONS_AUDITED.get(credential.id)
    if last is not None and now - last < REJECTION_AUDIT_EVERY:
        return None
    if len(_REJECTIONS_AUDITED) >= _REJECTIONS_REMEMBERED:
        _REJECTIONS_AUDITED.clear()
    _REJECTIONS_AUDITED[credential.id] = now

    audit.record(
        db.session,
        "auth.credential_rejected",
        object_type=kind,
        object_id=credential.id,
        outcome="denied",
        actor=credential.user,
    )


def _from_bearer(header: str) -> User | None:
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.secret_hash == digest(secret.strip()))
    )
    if token is None:
        return None
    now = utcnow()
    if token.revoked_at is not None or token.expires_at <= now or not token.user.active:
        return _rejected("api_token", token)
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_EVERY:
        token.last_used_at = now
    g.api_token = token
    return token.user


def load_user_from_request(_request) -> User | None:
    """Flask-Login's request loader: bearer token first, then the session cookie.

    A user with a pending step (TOTP enrolment, a reset password) reaches only the paths
    that complete it; everything else answers 403 until it is done.
    """
    header = request.headers.get("Authorization")
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
    """Start each request unauthenticated. An app context (and its `g`) can outlive one
    request, e.g. under the test client; a caller must never carry over."""
    for name in ("_login_user", "user_session", "api_token", "pending_steps"):
        g.pop(name, None)


def init_login_manager(manager: LoginManager) -> None:
    """Authenticate every request through `load_user_from_request`; 401 in the error shape."""
    manager.session_protection = None
    manager.request_loader(load_user_from_request)

    @manager.unauthorized_handler
    def _unauthorized():
        abort(401, message="Log in first.")
