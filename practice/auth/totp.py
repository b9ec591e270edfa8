"""Optional TOTP second factor (RFC 6238, 30-second steps, 6 digits).

Enrolment is two steps: `begin_enrolment` stores a fresh seed (sealed with a key from
the keyring, bound to the user's id; never stored in plain) and returns it with an
otpauth:// URI for an authenticator app; `enable` turns the factor on once the user
proves they can produce a code. A code is accepted for the step before, the current
step and the step after (clock drift), and each step at most once per user
(`User.totp_last_step`), so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time

import pyotp
import sqlalchemy as sa
from flask import current_app

from practice.audit import service as audit
from practice.auth import sessions
from practice.auth.errors import PolicyError
from practice.auth.models import User
from practice.auth.own_account import audited
from practice.extensions import db
from practice.keys.keyring import Keyring
from practice.keys.sealed import TOTP_PURPOSE, SealedSecretError, open_secret, seal_secret

log = logging.getLogger("practice.auth.totp")
ISSUER = "practice"
DRIFT_STEPS = 1
_CODE = re.compile(r"^[0-9]{6}$")  # ASCII only: \d also matches other scripts


def _keyring() -> Keyring:
    return current_app.extensions["keyring"]


def _seed(user: User) -> str:
    return open_secret(_keyring(), TOTP_PURPOSE, str(user.id), user.totp_secret).decode()


def begin_enrolment(user: User) -> tuple[str, str]:
    """A fresh seed for `user` (not yet enabled); returns (base32 seed, otpauth URI).
    Audited as auth.totp_setup."""
    if user.totp_enabled:
        raise PolicyError({"totp": ["Two-factor authentication is already enabled."]})
    seed = pyotp.random_base32()
    user.totp_secret = seal_secret(_keyring(), TOTP_PURPOSE, str(user.id), seed.encode())
    user.totp_last_step = None
    uri = pyotp.TOTP(seed).provisioning_uri(name=user.email, issuer_name=ISSUER)
    audit.record(db.session, "auth.totp_setup", object_type="user", object_id=user.id)
    return seed, uri


def accept_code(user: User, code: str | None, *, now: float | None = None) -> bool:
    """True when `code` is valid now and its step was not used before (the step is
    recorded), or when it is one of the user's unused recovery codes (it is used up).

    The user's row is locked and re-read first, so two requests with the same code
    cannot both pass: on PostgreSQL each would otherwise read the same last step and
    recovery codes (SQLite's write lock already serialises them)."""
    _lock(user)
    if not user.totp_secret or not code:
        return False
    code = code.replace(" ", "")
    if not _CODE.match(code):
        return _use_recovery_code(user, code)
    try:
        totp = pyotp.TOTP(_seed(user))
    except SealedSecretError as exc:
        # Moved or tampered with, or its master key is gone: refuse, never crash the login.
        log.error("TOTP seed of user %s cannot be opened: %s", user.id, exc)
        return False
    current = totp.timecode(now if now is not None else time.time())
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False


_FACTOR_COLUMNS = ["totp_secret", "totp_enabled", "totp_last_step", "totp_recovery_hashes"]


def _lock(user: User) -> None:
    """SELECT … FOR UPDATE the user's row and refresh it, when it is in the session."""
    if sa.inspect(user).persistent:
        db.session.flush()
        # Only the factor's columns: the joined practice cannot be locked (outer join).
        db.session.refresh(user, _FACTOR_COLUMNS, with_for_update=True)


@audited("auth.totp_enable")
def enable(user: User, code: str) -> list[str]:
    """Turn the factor on after enrolment and return its recovery codes (shown once);
    PolicyError when there is no seed or a bad code (audited, refused too)."""
    if user.totp_enabled:
        raise PolicyError({"code": ["Two-factor authentication is already enabled."]})
    if not user.totp_secret:
        raise PolicyError({"code": ["Start with /api/v1/auth/totp/setup."]})
    if not accept_code(user, code):
        raise PolicyError({"code": ["The code is not correct; check your device's clock."]})
    user.totp_enabled = True
    return new_recovery_codes(user)


@audited("auth.totp_disable")
def disable(user: User) -> None:
    """Turn the factor off, after `service.reauthenticate` (PolicyError when there is none
    or the practice requires one); audited, refused too."""
    if not user.totp_enabled:
        raise PolicyError({"code": ["Two-factor authentication is not enabled."]})
    if user.practice.require_totp:
        raise PolicyError({"code": ["Your practice requires two-factor authentication."]})
    _clear(user)


def reset(user: User) -> bool:
    """A reset for a user who lost their authenticator (an owner's, or the operator's):
    the factor, its seed and recovery codes are removed and, if there was one (True),
    every session of the user ends, every API token is revoked and the calendar feed
    stops. If the practice
    requires TOTP, the user's next login leads to enrolment again
    (`User.totp_enrolment_pending`)."""
    had_factor = bool(user.totp_enabled or user.totp_secret)
    _clear(user)
    if had_factor:
        sessions.end_sessions(user, "totp_reset")
        sessions.revoke_all_api_tokens(user)
        sessions.stop_calendar_feed(user)  # the link may have gone with the phone
    return had_factor


def _clear(user: User) -> None:
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    user.totp_recovery_hashes = None


# Recovery codes: for the day the authenticator is gone. Ten random 80-bit codes, shown
# once; only their SHA-256 is stored (80 bits cannot be guessed back from a hash), and
# each works once in place of a TOTP code.
RECOVERY_CODES = 10
_RECOVERY = re.compile(r"^[a-z2-7]{16}$")


def _recovery_hash(normalised: str) -> str:
    return hashlib.sha256(f"practice totp recovery {normalised}".encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes; returns the new ones, grouped for reading
    ("abcd-efgh-ijkl-mnop")."""
    codes = [
        base64.b32encode(secrets.token_bytes(10)).decode().lower() for _ in range(RECOVERY_CODES)
    ]
    user.totp_recovery_hashes = json.dumps([_recovery_hash(code) for code in codes])
    return ["-".join(code[i : i + 4] for i in range(0, 16, 4)) for code in codes]


@audited("auth.totp_recovery_codes")
def regenerate_recovery_codes(user: User) -> list[str]:
    """New recovery codes (the old ones stop working), after `service.reauthenticate`;
    PolicyError when there is no factor (audited, refused too)."""
    if not user.totp_enabled:
        raise PolicyError({"code": ["Two-factor authentication is not enabled."]})
    return new_recovery_codes(user)


def _use_recovery_code(user: User, code: str) -> bool:
    normalised = code.replace("-", "").lower()
    if not _RECOVERY.match(normalised) or not user.totp_recovery_hashes:
        return False
    hashes = json.loads(user.totp_recovery_hashes)
    wanted = _recovery_hash(normalised)
    for stored in hashes:
        if hmac.compare_digest(stored, wanted):
            hashes.remove(stored)
            user.totp_recovery_hashes = json.dumps(hashes)
            audit.record(
                db.session,
                "auth.totp_recovery_code_used",
                object_type="user",
                object_id=user.id,
                actor=user,
            )
            return True
    return False
