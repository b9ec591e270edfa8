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
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from practice.audit import service as audit
from practice.auth.models import ApiToken, Practice, User, UserSession
from practice.database import adopt, attribute_keys, read_first, utcnow
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


# The caller, in one statement: the credential's record, its user and the user's practice
# (the boundary's read on every request). Read with Core and adopted into the session
# (practice.database.adopt): the ORM's loading of the three entities cost about twice
# the query.
_SESSIONS, _TOKENS = UserSession.__table__, ApiToken.__table__
_USERS, _PRACTICES = User.__table__, Practice.__table__
_USER_KEYS = attribute_keys(User, _USERS)
_PRACTICE_KEYS = attribute_keys(Practice, _PRACTICES)
_SESSION_KEYS = attribute_keys(UserSession, _SESSIONS)
_SESSION_CALLER = (
    sa.select(*_SESSIONS.c, *_USERS.c, *_PRACTICES.c)
    .join_from(_SESSIONS, _USERS, _USERS.c.id == _SESSIONS.c.user_id)
    .join(_PRACTICES, _PRACTICES.c.id == _USERS.c.practice_id)
    .where(_SESSIONS.c.secret_hash == sa.bindparam("secret_hash"))
)
_TOKEN_CALLER = (
    sa.select(
        _TOKENS.c.id,
        _TOKENS.c.expires_at,
        _TOKENS.c.revoked_at,
        _TOKENS.c.last_used_at,
        *_USERS.c,
        *_PRACTICES.c,
    )
    .join_from(_TOKENS, _USERS, _USERS.c.id == _TOKENS.c.user_id)
    .join(_PRACTICES, _PRACTICES.c.id == _USERS.c.practice_id)
    .where(_TOKENS.c.secret_hash == sa.bindparam("secret_hash"))
)
_TOKEN_STATE = 4  # columns of the token before the user's
_USER_ACTIVE = _TOKEN_STATE + _USER_KEYS.index("active")
# Written at most every TOKEN_TOUCH_EVERY: of two requests that both find it stale, the
# second waits for the first's commit and then finds nothing to write.
_TOUCH_TOKEN = (
    sa.update(_TOKENS)
    .where(
        _TOKENS.c.id == sa.bindparam("token_id"),
        sa.or_(_TOKENS.c.last_used_at.is_(None), _TOKENS.c.last_used_at < sa.bindparam("stale")),
    )
    .values(last_used_at=sa.bindparam("now"))
)


def _caller(row: tuple, first: int) -> User:
    """The User (with its practice) of a row whose user columns begin at `first`, adopted
    into the session."""
    rest = first + len(_USER_KEYS)
    practice = adopt(db.session, Practice, dict(zip(_PRACTICE_KEYS, row[rest:], strict=True)))
    values = dict(zip(_USER_KEYS, row[first:rest], strict=True))
    return adopt(db.session, User, {**values, "practice": practice})


def live_session(secret: str) -> UserSession | None:
    """The live session record the cookie's `secret` names, or None: unknown, ended,
    timed out (ended now) or its user deactivated (each known one audited as rejected)."""
    row = read_first(db.session.connection(), _SESSION_CALLER, {"secret_hash": digest(secret)})
    if row is None:
        return None
    user = _caller(row, len(_SESSION_KEYS))
    values = dict(zip(_SESSION_KEYS, row[: len(_SESSION_KEYS)], strict=True))
    record = adopt(db.session, UserSession, {**values, "user": user})
    if record.ended_at is not None:
        return _rejected("session", record.id, record.user)
    reason = _expired(record)
    if reason:
        record.ended_at = utcnow()
        record.ended_reason = reason
        _rejected("session", record.id, record.user)
        db.session.commit()
        return None
    if not record.user.active:
        return _rejected("session", record.id, record.user)
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


def _rejected(kind: str, credential_id: uuid.UUID, user: User) -> None:
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
        if window > 0 and limiter.storage.incr(f"audit-rejected/{credential_id}", window) > 1:
            return None
        return _audit_rejected(kind, credential_id, user)
    now = time.monotonic()
    last = _REJECTIONS_AUDITED.get(credential_id)
    if last is not None and now - last < REJECTION_AUDIT_EVERY:
        return None
    if len(_REJECTIONS_AUDITED) >= _REJECTIONS_REMEMBERED:
        _REJECTIONS_AUDITED.clear()
    _REJECTIONS_AUDITED[credential_id] = now
    return _audit_rejected(kind, credential_id, user)


def _audit_rejected(kind: str, credential_id: uuid.UUID, user: User) -> None:
    audit.record(
        db.session,
        "auth.credential_rejected",
        object_type=kind,
        object_id=credential_id,
        outcome="denied",
        actor=user,
    )


def live_token(secret: str) -> User | None:
    """The user behind the live API token `secret`, or None: unknown, revoked, expired or
    its user deactivated (each known one audited as rejected). Notes its use (at most
    every TOKEN_TOUCH_EVERY)."""
    connection = db.session.connection()
    row = read_first(connection, _TOKEN_CALLER, {"secret_hash": digest(secret)})
    if row is None:
        return None
    token_id, expires_at, revoked_at, last_used_at = row[:_TOKEN_STATE]
    user = _caller(row, _TOKEN_STATE)
    now = utcnow()
    active = row[_USER_ACTIVE] and user.active  # the row's, and the session's if it held one
    if revoked_at is not None or expires_at <= now or not active:
        return _rejected("api_token", token_id, user)
    if last_used_at is None or now - last_used_at > TOKEN_TOUCH_EVERY:
        stale = now - TOKEN_TOUCH_EVERY
        connection.execute(_TOUCH_TOKEN, {"token_id": token_id, "stale": stale, "now": now})
    return user
