"""The domain's refusals: what services and loaders raise, whichever front end called.

A service says *what* went wrong; the front ends decide how to answer it, all in one
table (`practice/http.py`, DOMAIN_STATUSES): the API's error envelope and the web app's
error pages both come from there. Messages are plain sentences for the person acting
and never carry clinical text (they reach logs, pages and the envelope).

Raise these from services, loaders and rules; never `abort` or an HTTP status.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse. `message`: one plain sentence, no clinical text."""

    default_message = "The request was refused."

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)


class NotFound(DomainError):
    """No such object, or one the actor may not see: the two are indistinguishable."""

    def __init__(self, object_type: str = "object", message: str | None = None):
        self.object_type = object_type
        super().__init__(message or f"No such {object_type.replace('_', ' ')}.")


class Forbidden(DomainError):
    """The actor may see the object but not do this to it."""

    default_message = "You are not allowed to do that."


class Unauthenticated(DomainError):
    """The credentials sent do not identify anyone (a refused sign-in)."""

    default_message = "Sign in first."


class Throttled(DomainError):
    """Too many attempts: refused until `retry_after` seconds have passed."""

    default_message = "Too many attempts; try again later."

    def __init__(self, message: str | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Invalid(DomainError):
    """Well-formed input the rules refuse; `errors` maps field names to messages.
    `location`: where the fields were sent ("json" for a body, "query" for the URL)."""

    def __init__(
        self,
        errors: dict | None = None,
        message: str | None = None,
        *,
        location: str = "json",
    ):
        self.errors = errors or {}
        self.location = location
        super().__init__(message)


class Conflict(DomainError):
    """The object's state forbids the change (a signed note, a merged script, a taken
    slot). `details`: extra keys for the answer, e.g. {"conflicts": [...]}."""

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        self.details = details or {}
        super().__init__(message)


class Stale(DomainError):
    """The version the actor sent is not the current one."""

    default_message = "This changed since you read it; reload and try again."


class PreconditionRequired(DomainError):
    """A write to a versioned object that names no version the actor has read."""

    default_message = "Send If-Match with the version (ETag) you last read."


class Gone(DomainError):
    """The object existed and was destroyed on purpose."""

    default_message = "This no longer exists."
