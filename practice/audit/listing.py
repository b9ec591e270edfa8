"""The owner's view of the audit log: a practice's entries, filtered by who, action,
object, outcome and period. The API (api/audit.py) and the owner's page (web/admin.py)
both ask here, so a filter means the same in both."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from practice.audit.models import AuditEntry

EQUAL_FILTERS = ("actor_id", "action", "object_type", "object_id", "outcome")


def practice_entries(practice_id: uuid.UUID, filters: dict) -> sa.Select:
    """A select() of the practice's entries matching `filters` (keys of EQUAL_FILTERS,
    `since` inclusive and `until` exclusive as aware datetimes), unordered."""
    query = sa.select(AuditEntry).where(AuditEntry.practice_id == practice_id)
    for name in EQUAL_FILTERS:
        if name in filters:
            query = query.where(getattr(AuditEntry, name) == filters[name])
    if "since" in filters:
        query = query.where(AuditEntry.occurred_at >= filters["since"])
    if "until" in filters:
        query = query.where(AuditEntry.occurred_at < filters["until"])
    return query
