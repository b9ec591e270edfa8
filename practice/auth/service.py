"""Users, practices and login (supervision links: supervision.py). Services flush; the
request commits."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from practice.audit import service as audit
from practice.auth import passwords, sessions
from practice.auth.models import ROLES, ApiToken, Practice, User
from practice.auth.sessions import digest
from practice.database import utcnow
from practice.extensions import db


class PolicyError(ValueError):
    """A request the rules refuse; `errors` maps field names to messages (for a 422)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("refused")
        self.errors = errors


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


def change_password(user: User, current_password: str, new_password: str) -> None:
    """The user's own change: the current password must be right (PolicyError otherwise)."""
    if not passwords.verify_password(user.password_hash, current_password):
        raise PolicyError({"current_password": ["The current password is not correct."]})
    set_password(user, new_password, field="new_password")
    user.password_reset_required = False


def reset_password(user: User, new_password: str) -> None:
    """The operator sets a temporary password for `user`, who forgot theirs:
    policy-checked, the account unlocked, every session ended, and a change of their own
    required before anything else."""
    set_password(user, new_password)
    user.password_reset_required = True
    user.failed_logins = 0
    user.locked_until = None
    sessions.end_sessions(user, "password_reset")


def account_locked(user: User) -> bool:
    """True while too many failed logins keep the account locked."""
    return user.locked_until is not None and user.locked_until > utcnow()


def register_failed_login(user: User) -> None:
    """Count a failure on the account; lock it for a while past the configured limit."""
    cfg = current_app.config
    user.failed_logins += 1
    if user.failed_logins >= cfg["LOGIN_FAILURES_BEFORE_LOCK"]:
        user.locked_until = utcnow() + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
        user.failed_logins = 0


def lock_seconds_left(user: User) -> int:
    """Seconds until a locked account may try again (for Retry-After)."""
    if user.locked_until is None:
        return 0
    return max(1, int((user.locked_until - utcnow()).total_seconds()) + 1)


def register_successful_login(user: User, password: str) -> None:
    """Reset the failure counter; rehash when the argon2 parameters have changed."""
    user.failed_logins = 0
    user.locked_until = None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)


def issue_api_token(user: User, name: str, expires_at=None):
    """A new personal API token; returns (record, secret). Only the hash is stored."""
    if expires_at is not None and expires_at <= utcnow():
        raise PolicyError({"expires_at": ["Choose a time in the future."]})
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
    return token, secret


def tokens_of(user: User):
    """A select() of the user's tokens, newest first (revoked and expired included)."""
    return (
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    )


def revoke_api_token(user: User, token_id: uuid.UUID) -> ApiToken | None:
    """Revoke one of the user's own tokens; None when it is not theirs (or does not exist)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def revoke_all_api_tokens(user: User) -> None:
    """Revoke every live token of `user` (on deactivation: reactivating must not revive them)."""
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


def update_practice(practice: Practice, owner: User, changes: dict) -> Practice:
    """Rename the practice, require a second factor of every user, or set the region for
    phone numbers written without a country code.

    Requiring TOTP is refused while the owner making the change has none: they would
    lock themselves into the enrolment-only state.
    """
    if changes.get("require_totp") and not owner.totp_enabled:
        raise PolicyError(
            {"require_totp": ["Enable two-factor authentication on your own account first."]}
        )
    for field in ("name", "require_totp", "phone_region"):
        if field in changes:
            setattr(practice, field, changes[field])
    return practice
