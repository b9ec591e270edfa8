"""Session records (cookie sessions) and API tokens: the domain's half of "who is calling".

A cookie holds one opaque random secret; the database keeps only its SHA-256, so a
stolen database yields no usable sessions. Logout, password change and deactivation end
session records at once; idle and absolute timeouts are enforced here, server-side.
Reading cookies and headers, CSRF and flask-login are the request boundary's
(practice/login.py): it hands the secrets in and gets records or nothing back.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from practice.audit import service as audit
from practice.auth.models import ApiToken, User, UserSession
from practice.database import utcnow
from practice.extensions import db, limiter

# Write last_seen_at (sessions) and last_used_at (API tokens) at most this often, so
# reads do not each cost a write.
TOUCH_EVERY = timedelta(seconds=30)
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (sessions, API tokens, feed tokens)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(user: User, address: str | None) -> tuple[UserSession, str]:
    """A new session record for `user`, begun from `address`; the boundary puts the
    secret in the cookie (practice/login.py)."""
    secret = secrets.token_urlsafe(32)
    record = UserSession(
        user_id=user.id,
        secret_hash=digest(secret),
        csrf_token=secrets.token_urlsafe(32),
        address=address,
    )
    db.session.add(record)
    db.session.flush()
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


# Named as a table, not imported: scheduling builds on auth, not the reverse.
_CALENDAR_FEEDS = sa.table("calendar_feeds", sa.column("clinician_id", sa.Uuid()))


def stop_calendar_feed(user: User) -> None:
    """Delete the user's calendar feed (deactivation, the clinician role taken away, a
    lost second factor): giving the account, the role or a factor back must not open the
    old link again, which may sit in a lost phone's calendar."""
    feeds = _CALENDAR_FEEDS
    db.session.execute(sa.delete(feeds).where(feeds.c.clinician_id == user.id))


def sign_out(user: User, record: UserSession | None) -> None:
    """The user signs out: audited as auth.logout, and the session record (None when an
    API token carried the request) ends."""
    audit.record(db.session, "auth.logout", object_type="user", object_id=user.id)
    end_session(record, "logout")


def end_session(record: UserSession | None, reason: str = "logout") -> None:
    """End one session record (logout), if it is still live."""
    if record is not None and record.ended_at is None:
        record.ended_at = utcnow()
        record.ended_reason = reason


def _expired(record: UserSession) -> str | None:
    now = utcnow()
    cfg = current_app.config
    if now - record.created_at > timedelta(hours=cfg["SESSION_MAX_HOURS"]):
        return "absolute_timeout"
    if now - record.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        return "idle_timeout"
    return None


def live_session(secret: str) -> UserSession | None:
    """The live session record the cookie's `secret` names, or None: unknown, ended,
    timed out (ended now) or its user deactivated (each known one audited as rejected)."""
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
    if not record.user.active:
        return _rejected("session", record)
    return record


def touch_session(record: UserSession) -> None:
    """Note that the session was used (at most every TOUCH_EVERY)."""
    now = utcnow()
    if now - record.last_seen_at > TOUCH_EVERY:
        record.last_seen_at = now


# Credential id -> when its last rejection was audited (this process; monotonic seconds).
_REJECTIONS_AUDITED: dict = {}
REJECTION_AUDIT_EVERY = 600.0
_REJECTIONS_REMEMBERED = 10_000


def _rejected(kind: str, credential: ApiToken | UserSession) -> None:
    """A known credential that no longer works (revoked, ended, expired, or its user
    deactivated): audit the attempt against its owner; the request is answered 401.

    At most one entry per credential every REJECTION_AUDIT_EVERY seconds, so someone
    replaying a dead token cannot flood the chain: counted per deployment in the rate
    limiter's storage (Redis in production, shared by every process and instance), or
    per process where rate limiting is off. Unknown secrets are not audited: they name
    nobody, and anyone could fill the log with them (failed logins are audited, and
    throttled, at the login endpoint)."""
    if limiter.enabled:
        window = math.ceil(REJECTION_AUDIT_EVERY)
        if window > 0 and limiter.storage.incr(f"audit-rejected/{credential.id}", window) > 1:
            return None
        return _audit_rejected(kind, credential)
    now = time.monotonic()
    last = _REJECTIONS_AUDITED.get(credential.id)
    if last is not None and now - last < REJECTION_AUDIT_EVERY:
        return None
    if len(_REJECTIONS_AUDITED) >= _REJECTIONS_REMEMBERED:
        _REJECTIONS_AUDITED.clear()
    _REJECTIONS_AUDITED[credential.id] = now
    return _audit_rejected(kind, credential)


def _audit_rejected(kind: str, credential: ApiToken | UserSession) -> None:
    audit.record(
        db.session,
        "auth.credential_rejected",
        object_type=kind,
        object_id=credential.id,
        outcome="denied",
        actor=credential.user,
    )


def live_token(secret: str) -> ApiToken | None:
    """The live API token `secret` names, or None: unknown, revoked, expired or its user
    deactivated (each known one audited as rejected). Notes its use."""
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.secret_hash == digest(secret)))
    if token is None:
        return None
    now = utcnow()
    if token.revoked_at is not None or token.expires_at <= now or not token.user.active:
        return _rejected("api_token", token)
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_EVERY:
        token.last_used_at = now
    return token
