"""The compare-and-set write of drafts (progress notes, plans), refusing as domain errors."""

from __future__ import annotations

from practice.errors import Conflict, Stale
from practice.notes import rules


def compare_and_set(model, row, version: int, values: dict, *conditions) -> None:
    """notes.rules.compare_and_set (UPDATE … WHERE version = :version), its refusals
    raised as practice.errors.Stale / Conflict."""
    try:
        rules.compare_and_set(model, row, version, values, *conditions)
    except rules.Stale:
        raise Stale() from None
    except rules.Conflict as exc:
        raise Conflict(str(exc)) from None
