"""Saying beforehand what a change to a series member reaches, per scope (this / this
and the following / the whole series), by asking the same `targets` the change uses."""

from __future__ import annotations

from practice.scheduling.changes import SCOPES, targets
from practice.scheduling.models import Appointment


def scope_preview(appointment: Appointment) -> dict[str, dict[str, list]]:
    """Per scope: `changed`, what an edit moves; `left_alone`, the occurrences changed on
    their own that an edit skips; `cancelled`, what a cancellation reaches (detached
    ones included). A single appointment has only `this`."""
    scopes = SCOPES if appointment.series_id is not None else ("this",)
    preview = {}
    for scope in scopes:
        edited = targets(appointment, scope, include_detached=False)
        cancelled = targets(appointment, scope, include_detached=True)
        kept = {item.id for item in edited}
        preview[scope] = {
            "changed": edited,
            "left_alone": [item for item in cancelled if item.id not in kept],
            "cancelled": cancelled,
        }
    return preview
