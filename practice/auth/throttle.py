"""Sign-in throttling that neither tells nor locks out (NIST SP 800-63B 5.2.2).

Only failures count: a wrong password, an unknown email, a missing or wrong second
factor, at sign-in and when a signed-in user confirms their password again (step-up).
Three counters, all in flask-limiter's storage (memory, or Redis so that every process
shares them), keyed by hashes, never by an email or address as such:

- per address (LOGIN_ADDRESS_FAILURES): a guessing run across many accounts from one place;
- per account and address (LOGIN_ACCOUNT_ADDRESS_FAILURES): a guessing run against one
  account from one place;
- per account from anywhere (LOGIN_ACCOUNT_FAILURES): a run spread over many addresses.

The first and the last are not applied to an account at an address where it signed in
successfully within LOGIN_KNOWN_ADDRESS_DAYS: a stranger elsewhere cannot lock a
clinician out of their own practice. Unknown emails are counted exactly like accounts, so
the answers (401 or 429, body and Retry-After) never tell whether an account exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItem, parse_many

from practice.actor import acting
from practice.auth.sessions import digest
from practice.extensions import db, limiter

PREFIX = "signin"


class Throttled(Exception):
    """Too many failures; try again after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__("throttled")
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Counter:
    setting: str
    key: str
    skip_when_known: bool


def enabled() -> bool:
    """Throttling follows RATELIMIT_ENABLED (the test suite turns it off)."""
    return bool(limiter.enabled and current_app.config.get("RATELIMIT_ENABLED"))


def _account(email: str) -> str:
    return digest("account " + email.strip().lower()[:254])[:32]


def _address(address: str | None) -> str:
    return digest("address " + (address or acting(db.session).address or ""))[:32]


def _counters(email: str, address: str | None) -> list[_Counter]:
    account, place = _account(email), _address(address)
    return [
        _Counter("LOGIN_ADDRESS_FAILURES", f"{PREFIX}-address:{place}", True),
        _Counter("LOGIN_ACCOUNT_ADDRESS_FAILURES", f"{PREFIX}-pair:{account}:{place}", False),
        _Counter("LOGIN_ACCOUNT_FAILURES", f"{PREFIX}-account:{account}", True),
    ]


def _known_key(email: str, address: str | None) -> str:
    return f"{PREFIX}-known:{_account(email)}:{_address(address)}"


def _limits(setting: str) -> list[RateLimitItem]:
    return parse_many(current_app.config[setting])


def _known(email: str, address: str | None) -> bool:
    return limiter.storage.get(_known_key(email, address)) > 0


def check(email: str, address: str | None = None) -> None:
    """Raise Throttled when this account or address has failed too often (before any
    password is checked, so a throttled attempt costs nothing and tells nothing)."""
    if not enabled():
        return
    known = _known(email, address)
    strategy = limiter.limiter
    waits = [
        int(strategy.get_window_stats(item, counter.key).reset_time)
        for counter in _counters(email, address)
        if not (known and counter.skip_when_known)
        for item in _limits(counter.setting)
        if not strategy.test(item, counter.key)
    ]
    if waits:
        raise Throttled(max(1, max(waits) - int(time.time()) + 1))


def record_failure(email: str, address: str | None = None) -> bool:
    """Count one failure on every counter; True when it used up a limit (worth one audit
    entry: the attempts after it are refused without one)."""
    if not enabled():
        return False
    strategy = limiter.limiter
    exhausted = False
    for counter in _counters(email, address):
        for item in _limits(counter.setting):
            strategy.hit(item, counter.key)
            exhausted = exhausted or not strategy.test(item, counter.key)
    return exhausted


def record_success(email: str, address: str | None = None) -> None:
    """Remember the address as this account's own for a while, and forget the pair's
    failures (the person who knows the password is here)."""
    if not enabled():
        return
    days = current_app.config["LOGIN_KNOWN_ADDRESS_DAYS"]
    key = _known_key(email, address)
    limiter.storage.clear(key)
    limiter.storage.incr(key, days * 86400)
    pair = _counters(email, address)[1]
    for item in _limits(pair.setting):
        limiter.limiter.clear(item, pair.key)
