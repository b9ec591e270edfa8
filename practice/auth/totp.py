"""Optional TOTP second factor (RFC 6238, 30-second steps, 6 digits).

Enrolment is two steps: `begin_enrolment` stores a fresh seed (sealed with a key from
the keyring, bound to the user's id; never stored in plain) and returns it with an
otpauth:// URI for an authenticator app; `enable` turns the factor on once the user
proves they can produce a code. A code is accepted for the step before, the current
step and the step after (clock drift), and each step at most once per user
(`User.totp_last_step`), so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import hmac
import logging
import re
import time

import pyotp
from flask import current_app

from practice import crypto
from practice.auth import passwords
from practice.auth.models import User
from practice.auth.service import PolicyError

log = logging.getLogger("practice.auth.totp")
PURPOSE = "totp"
ISSUER = "practice"
DRIFT_STEPS = 1
_CODE = re.compile(r"^[0-9]{6}$")  # ASCII only: \d also matches other scripts


def _keyring() -> crypto.Keyring:
    return current_app.extensions["keyring"]


def _seed(user: User) -> str:
    return crypto.open_secret(_keyring(), PURPOSE, str(user.id), user.totp_secret).decode()


def begin_enrolment(user: User) -> tuple[str, str]:
    """A fresh seed for `user` (not yet enabled); returns (base32 seed, otpauth URI)."""
    if user.totp_enabled:
        raise PolicyError({"totp": ["Two-factor authentication is already enabled."]})
    seed = pyotp.random_base32()
    user.totp_secret = crypto.seal_secret(_keyring(), PURPOSE, str(user.id), seed.encode())
    user.totp_last_step = None
    uri = pyotp.TOTP(seed).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return seed, uri


def accept_code(user: User, code: str | None, *, now: float | None = None) -> bool:
    """True when `code` is valid now and its step was not used before; records the step."""
    if not user.totp_secret or not code:
        return False
    code = code.replace(" ", "")
    if not _CODE.match(code):
        return False
    try:
        totp = pyotp.TOTP(_seed(user))
    except crypto.SealedSecretError as exc:
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


def enable(user: User, code: str) -> None:
    """Turn the factor on after enrolment; PolicyError when there is no seed or a bad code."""
    if user.totp_enabled:
        raise PolicyError({"code": ["Two-factor authentication is already enabled."]})
    if not user.totp_secret:
        raise PolicyError({"code": ["Start with /api/v1/auth/totp/setup."]})
    if not accept_code(user, code):
        raise PolicyError({"code": ["The code is not correct; check your device's clock."]})
    user.totp_enabled = True


def disable(user: User, password: str, code: str) -> None:
    """Turn the factor off; needs the password and a current code (PolicyError otherwise)."""
    if not user.totp_enabled:
        raise PolicyError({"code": ["Two-factor authentication is not enabled."]})
    if user.practice.require_totp:
        raise PolicyError({"code": ["Your practice requires two-factor authentication."]})
    if not passwords.verify_password(user.password_hash, password):
        raise PolicyError({"password": ["The password is not correct."]})
    if not accept_code(user, code):
        raise PolicyError({"code": ["The code is not correct; check your device's clock."]})
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None


def reset(user: User) -> bool:
    """An owner's reset for a user who lost their authenticator: the factor and its seed
    are removed (True if there was one). If the practice requires TOTP, the user's next
    login leads to enrolment again (see `enrolment_pending`)."""
    had_factor = bool(user.totp_enabled or user.totp_secret)
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    return had_factor


def enrolment_pending(user: User) -> bool:
    """True when the practice requires TOTP and this user has not enabled it yet."""
    return bool(user.practice.require_totp) and not user.totp_enabled
