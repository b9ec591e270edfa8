"""What an owner does to the users of their practice: create one with a temporary
password, change name and roles, deactivate (every session and API token ends), reset a
lost second factor. The API (api/users.py) and the owner's pages (web/admin.py) call
these, so each rule is written once. Services flush; the request commits."""

from __future__ import annotations

import secrets

from practice.audit import service as audit
from practice.auth import service, sessions, supervision, totp
from practice.auth.models import User
from practice.errors import Conflict
from practice.extensions import db

# Lower-case letters and digits without look-alikes (no l/1, o/0), read out over a phone.
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
TEMPORARY_GROUPS = 4


class OwnSeat(Conflict):
    """An owner tried to lock themselves out (deactivate themselves, drop their owner
    role, reset their own factor here): a Conflict (409), the page says why."""


def temporary_password() -> str:
    """Four groups of four random characters (about 80 bits), e.g. `k7mq-2xwe-…`."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(TEMPORARY_GROUPS))
    return "-".join(groups)


def create_user(owner: User, *, email: str, name: str, roles, password: str | None = None):
    """A new user of the owner's practice with a temporary password (`password`, or one
    made here): at their first sign-in they can only choose their own. Returns (user,
    the temporary password) — show it once, it is stored only as a hash."""
    if password is None:
        password = temporary_password()
    user = service.create_user(
        owner.practice, email=email, name=name, roles=roles, password=password
    )
    user.password_reset_required = True
    audit.record(db.session, "user.create", object_type="user", object_id=user.id)
    audit.record(db.session, "user.temporary_password", object_type="user", object_id=user.id)
    return user, password


def update_user(owner: User, user: User, changes: dict) -> User:
    """Change `name`, `roles`, `active`. Dropping a role ends the supervision links it
    was part of; deactivating ends every session (an open browser is signed out at its
    next request) and revokes every API token and the calendar feed (so does dropping the
    clinician role). OwnSeat for the owner's own lockout."""
    if user.id == owner.id and (
        changes.get("active") is False or ("roles" in changes and "owner" not in changes["roles"])
    ):
        raise OwnSeat("Owners cannot deactivate themselves or drop their own owner role.")
    if "name" in changes:
        user.name = changes["name"]
    if "roles" in changes and set(changes["roles"]) != set(user.roles):
        dropped = set(user.roles) - set(changes["roles"])
        user.roles = changes["roles"]
        audit.record(db.session, "user.roles_change", object_type="user", object_id=user.id)
        supervision.end_for_roles(owner, user, dropped)
        if "clinician" in dropped:
            sessions.stop_calendar_feed(user)
    if "active" in changes and changes["active"] != user.active:
        user.active = changes["active"]
        if not user.active:
            sessions.end_sessions(user, "deactivated")
            service.revoke_all_api_tokens(user)
            sessions.stop_calendar_feed(user)
            audit.record(db.session, "user.deactivate", object_type="user", object_id=user.id)
        else:
            audit.record(db.session, "user.reactivate", object_type="user", object_id=user.id)
    audit.record(db.session, "user.update", object_type="user", object_id=user.id)
    return user


def reset_second_factor(owner: User, user: User) -> bool:
    """Remove a user's lost second factor; their sessions end and their API tokens are
    revoked (one may have gone with the phone). False when they had none. Owners turn
    off their own factor with their password and a code instead (OwnSeat)."""
    if user.id == owner.id:
        raise OwnSeat(
            "Turn off your own second factor yourself: on your account page, or at "
            "/api/v1/auth/totp/disable (it needs your password and a current code)."
        )
    had = totp.reset(user)
    audit.record(db.session, "user.totp_reset", object_type="user", object_id=user.id)
    return had
