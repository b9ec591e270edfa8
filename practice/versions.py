"""Optimistic concurrency for versioned objects (notes, scripts, plans): every write
names the version it was based on, and a write based on another one is refused."""

from __future__ import annotations

from collections.abc import Collection

from practice.errors import PreconditionRequired, Stale

ANY = "*"  # "whatever it is now": names no version anyone has read
ANY_REFUSED = (
    'If-Match: * is not accepted here; send the version (ETag) you last read, e.g. If-Match: "3".'
)


def check_version(current: int, sent: Collection[str] | None) -> None:
    """PreconditionRequired when no version was sent (or only "any"), Stale when the
    versions sent do not include `current`."""
    if not sent:
        raise PreconditionRequired()
    if ANY in sent:
        raise PreconditionRequired(ANY_REFUSED)
    if str(current) not in sent:
        raise Stale()
