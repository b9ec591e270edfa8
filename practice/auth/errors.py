"""Refusals the auth services raise; the API and the web pages answer them."""

from __future__ import annotations

from practice.errors import Invalid


class PolicyError(Invalid, ValueError):
    """A request the rules refuse; `errors` maps field names to messages."""


class SignInRefused(Exception):
    """Sign-in or step-up refused. `retry_after` (seconds) when throttled, else None.

    The message is the same whatever was wrong, so it tells nobody which part was."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
