"""Refusals the auth services raise; the API and the web pages answer them."""

from __future__ import annotations

from practice.errors import Forbidden, Invalid, Throttled, Unauthenticated


class PolicyError(Invalid, ValueError):
    """A request the rules refuse; `errors` maps field names to messages."""


class SignInRefused(Unauthenticated):
    """Sign-in refused (401). `retry_after` (seconds) when throttled, else None.

    The message is the same whatever was wrong, so it tells nobody which part was."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class StepUpRefused(SignInRefused, Forbidden):
    """Recent authentication refused for a signed-in user (403): the password or code
    sent again was not correct."""


class SignInThrottled(SignInRefused, Throttled):
    """Sign-in or step-up refused because too many attempts failed (429, Retry-After)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, retry_after)
