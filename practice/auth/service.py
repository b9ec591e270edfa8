"""Users, practices and login (supervision links: supervision.py). Services flush; the
request commits."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from practice.actor import acting
from practice.audit import service as audit
from practice.auth import passwords, sessions, throttle, totp
from practice.auth.errors import PolicyError, SignInRefused, SignInThrottled, StepUpRefused
from practice.auth.models import ROLES, ApiToken, Practice, User, UserSession
from practice.auth.own_account import audited
from practice.auth.sessions import digest, revoke_all_api_tokens
from practice.database import utcnow
from practice.extensions import db


def normalise_email(email: str) -> str:
    """Emails are compared trimmed and lower-cased."""
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The user with this email, in any practice (emails are unique across practices)."""
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def check_password(
    password: str, *, email: str, name: str, field: str = "password", current_hash=None
) -> None:
    """Raise PolicyError with the reasons (under `field`) when the password is refused."""
    problems = passwords.password_problems(
        password, email=email, name=name, current_hash=current_hash
    )
    if problems:
        raise PolicyError({field: problems})


def create_practice(name: str, timezone: str) -> Practice:
    """A new practice (tenant), audited; the caller adds its owner.

    `flask audit verify` relies on it: a practice without an entry in the log means the
    log was emptied or cut back."""
    practice = Practice(id=uuid.uuid4(), name=name, timezone=timezone)
    db.session.add(practice)
    db.session.flush()
    audit.record(
        db.session,
        "practice.create",
        object_type="practice",
        object_id=practice.id,
        practice_id=practice.id,
    )
    return practice


def create_user(
    practice: Practice | uuid.UUID, *, email: str, name: str, roles, password: str
) -> User:
    """A new user of the practice; refuses a taken email or a weak password (PolicyError)."""
    practice_id = practice.id if isinstance(practice, Practice) else practice
    email = normalise_email(email)
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise PolicyError({"roles": [f"Roles must be among {', '.join(ROLES)}."]})
    if find_user_by_email(email) is not None:
        raise PolicyError({"email": ["A user with this email already exists."]})
    check_password(password, email=email, name=name)
    user = User(
        id=uuid.uuid4(),
        practice_id=practice_id,
        email=email,
        name=name,
        password_hash=passwords.hash_password(password),
    )
    user.roles = roles
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except sa.exc.IntegrityError:
        # Another request took the email between our check and this insert.
        raise PolicyError({"email": ["A user with this email already exists."]}) from None
    return user


def set_password(user: User, new_password: str, *, field: str = "password") -> None:
    """Replace the user's password after checking it against the policy."""
    check_password(
        new_password, email=user.email, name=user.name, field=field, current_hash=user.password_hash
    )
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()


@audited("auth.password_change")
def change_password(user: User, new_password: str) -> None:
    """The user's own change, after `reauthenticate`: their password from now on
    (audited, refused too)."""
    set_password(user, new_password, field="new_password")
    user.password_reset_required = False


def finish_password_change(user: User, *, revoke_tokens: bool) -> int:
    """After the user's own change: their other sessions end and, when they ask, every API
    token of theirs is revoked (each audited); returns how many tokens were revoked."""
    if sessions.end_sessions(user, "password_changed", keep=acting(db.session).user_session):
        audit.record(db.session, "auth.sessions_ended", object_type="user", object_id=user.id)
    revoked = revoke_all_api_tokens(user) if revoke_tokens else 0
    if revoked:
        audit.record(db.session, "auth.tokens_revoked", object_type="user", object_id=user.id)
    return revoked


def reset_password(user: User, new_password: str) -> None:
    """The operator sets a temporary password for `user`, who forgot theirs:
    policy-checked, every session ended and every API token revoked, and a change of
    their own required before anything else."""
    set_password(user, new_password)
    user.password_reset_required = True
    sessions.end_sessions(user, "password_reset")
    revoke_all_api_tokens(user)


SIGN_IN_FAILED = "Email or password is incorrect."
THROTTLED = "Too many failed attempts; try again later."
REAUTH_FAILED = (
    "Confirm this with your current password (and, if you use two-factor "
    "authentication, a current code or a recovery code); what was sent is not correct."
)


def _throttle_check(email: str) -> None:
    try:
        throttle.check(email)
    except throttle.Throttled as exc:
        raise SignInThrottled(THROTTLED, exc.retry_after) from None


def _second_factor_ok(user: User, code: str | None) -> bool:
    return not user.totp_enabled or totp.accept_code(user, code)


def sign_in(email: str, password: str, code: str | None = None) -> tuple[User, UserSession, str]:
    """Check the email, password and (when enrolled) second factor, and start a session:
    the user, the session record and its secret (for the boundary's cookie).

    SignInRefused with one message for every failure (unknown email, wrong password,
    deactivated account, missing or wrong code), or the throttle's message and wait:
    known and unknown accounts are answered alike (SignInThrottled). Failures are
    counted and audited; the boundary keeps the refusal entries when it rolls back."""
    user = check_first_factor(email, password)
    return user, *finish_sign_in(user, code)


def check_first_factor(email: str, password: str) -> User:
    """Email and password, under the sign-in throttle, every failure answered alike and
    counted: the user, not yet signed in. The web app's first step; finish_sign_in with
    the code (when the user has a second factor) is the second, counted by the same
    throttle."""
    email = normalise_email(email)
    _throttle_check(email)
    user = find_user_by_email(email)
    if user is None:
        passwords.burn_time()
    if (
        user is None
        or not passwords.verify_password(user.password_hash, password)
        or not user.active
    ):
        _failed(email, user, "auth.login_failed")
        raise SignInRefused(SIGN_IN_FAILED)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def finish_sign_in(user: User, code: str | None) -> tuple[UserSession, str]:
    """The second factor (when enrolled; a recovery code works too), then the session,
    begun from where the actor is: its record and secret. SignInRefused as sign_in."""
    _throttle_check(user.email)
    if not user.active or not _second_factor_ok(user, code):
        _failed(user.email, user, "auth.login_failed")
        raise SignInRefused(SIGN_IN_FAILED)
    throttle.record_success(user.email)
    record, secret = sessions.start_session(user, acting(db.session).address)
    audit.record(db.session, "auth.login", object_type="user", object_id=user.id, actor=user)
    return record, secret


def reauthenticate(user: User, password: str, code: str | None, action: str) -> None:
    """Recent authentication for what outlives a session (tokens, the second factor,
    email, password): the password again, and a code when a second factor is enrolled.
    StepUpRefused (403) otherwise, audited as `action` and counted by the sign-in
    throttle (SignInThrottled, 429, when used up), so a stolen session cannot be used
    to guess the password."""
    _throttle_check(user.email)
    if passwords.verify_password(user.password_hash, password) and _second_factor_ok(user, code):
        return
    _failed(user.email, user, action)
    raise StepUpRefused(REAUTH_FAILED)


def _failed(email: str, user: User | None, action: str) -> None:
    """Audit a failed sign-in or step-up and count it; once more when it used up a limit."""
    exhausted = throttle.record_failure(email)
    for name, outcome in [(action, "failure")] + exhausted * [("auth.throttled", "denied")]:
        audit.record(
            db.session,
            name,
            object_type="user",
            object_id=user.id if user else None,
            outcome=outcome,
            actor=user,
            practice_id=user.practice_id if user else None,
        )


def issue_api_token(user: User, name: str, expires_at: datetime | None = None):
    """A new personal API token; returns (record, secret). Only the hash is stored.

    It expires at `expires_at`, at most PRACTICE_TOKEN_MAX_DAYS ahead (PolicyError
    beyond), or after PRACTICE_TOKEN_DAYS when none is asked for. Audited."""
    cfg = current_app.config
    now = utcnow()
    if expires_at is None:
        expires_at = now + timedelta(days=cfg["PRACTICE_TOKEN_DAYS"])
    if expires_at <= now:
        raise PolicyError({"expires_at": ["Choose a time in the future."]})
    if expires_at > now + timedelta(days=cfg["PRACTICE_TOKEN_MAX_DAYS"]):
        raise PolicyError(
            {"expires_at": [f"A token lives at most {cfg['PRACTICE_TOKEN_MAX_DAYS']} days."]}
        )
    secret = "pt_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        secret_hash=digest(secret),
        prefix=secret[:10],
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(db.session, "auth.token_create", object_type="api_token", object_id=token.id)
    return token, secret


def tokens_of(user: User):
    """A select() of the user's tokens, newest first (revoked and expired included)."""
    return (
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    )


def revoke_api_token(user: User, token_id: uuid.UUID) -> ApiToken | None:
    """Revoke one of the user's own tokens (audited); None when it is not theirs (or does
    not exist)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    audit.record(db.session, "auth.token_revoke", object_type="api_token", object_id=token.id)
    return token


def live_tokens_of(user: User) -> list[ApiToken]:
    """The user's tokens that still work, newest first."""
    now = utcnow()
    query = tokens_of(user).where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    return list(db.session.scalars(query))


@audited("auth.email_change")
def change_email(user: User, new_email: str) -> None:
    """The user's own change, after `reauthenticate`: a new sign-in name. Every other
    session ends and every API token is revoked (PolicyError when the email is taken);
    audited, refused too."""
    new_email = normalise_email(new_email)
    if new_email == user.email:
        raise PolicyError({"email": ["This is already your email."]})
    if find_user_by_email(new_email) is not None:
        raise PolicyError({"email": ["A user with this email already exists."]})
    user.email = new_email
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise PolicyError({"email": ["A user with this email already exists."]}) from None
    sessions.end_sessions(user, "email_changed", keep=acting(db.session).user_session)
    revoke_all_api_tokens(user)


def update_practice(practice: Practice, owner: User, changes: dict) -> Practice:
    """Rename the practice, require a second factor of every user, or set the region for
    phone numbers written without a country code.

    Requiring TOTP is refused while the owner making the change has none: they would
    lock themselves into the enrolment-only state. Audited.
    """
    if changes.get("require_totp") and not owner.totp_enabled:
        raise PolicyError(
            {"require_totp": ["Enable two-factor authentication on your own account first."]}
        )
    for field in ("name", "timezone", "require_totp", "phone_region"):
        if field in changes:
            setattr(practice, field, changes[field])
    audit.record(db.session, "practice.update", object_type="practice", object_id=practice.id)
    return practice
