"""Helpers shared by the HTTP tests: bearer headers per user, audit and row counts."""

from __future__ import annotations

import sqlalchemy as sa

from practice.audit.models import AuditEntry
from practice.clients.models import CareTeamMember, Client
from practice.extensions import db
from tests.factories import bearer
from tests.helpers import settle

CANARY = "Quokka-canary-7731: the grandmother's red ledger"

_tokens: dict = {}


def auth(user) -> dict[str, str]:
    """Bearer header for `user` (one token per user per test run)."""
    if user.id not in _tokens:
        _tokens[user.id] = bearer(user)
        settle()
    return _tokens[user.id]


def audit_rows(action: str | None = None, **filters) -> list[AuditEntry]:
    """Audit entries with `action` and the other column values in `filters`, oldest first."""
    if action is not None:
        filters["action"] = action
    query = sa.select(AuditEntry).order_by(AuditEntry.occurred_at, AuditEntry.seq)
    for key, value in filters.items():
        value = str(value) if key == "object_id" else value
        query = query.where(getattr(AuditEntry, key) == value)
    return list(db.session.scalars(query))


def audit_text() -> str:
    """Everything the audit rows hold but their ids and times, as one string."""
    rows = db.session.scalars(sa.select(AuditEntry)).all()
    return " ".join(
        str(value)
        for row in rows
        for value in (row.action, row.object_type, row.object_id, row.address, row.outcome)
    )


def count(model) -> int:
    """Rows of `model` in the test's session."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def counts() -> tuple[int, int]:
    """Clients and care-team rows."""
    return count(Client), count(CareTeamMember)
