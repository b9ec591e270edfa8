"""Shared helpers for the authentication tests: logging in, audit actions, a clock."""

from __future__ import annotations

import sqlalchemy as sa

from practice.audit.models import AuditEntry
from practice.extensions import db
from tests.factories import PASSWORD

LOGIN = "/api/v1/auth/login"


def login(client, user, password=PASSWORD, totp=None, **kwargs):
    """POST /auth/login for `user`; returns the response."""
    body = {"email": user.email, "password": password}
    if totp is not None:
        body["totp"] = totp
    return client.post(LOGIN, json=body, **kwargs)


def login_csrf(client, user, password=PASSWORD, totp=None) -> dict[str, str]:
    """Log in and return the X-CSRF-Token header for cookie-authenticated writes."""
    response = login(client, user, password, totp)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"X-CSRF-Token": response.get_json()["csrf_token"]}


def audit_actions(**where) -> list[tuple[str, str]]:
    """(action, outcome) of audit entries matching `where`, oldest first."""
    db.session.expire_all()
    query = sa.select(AuditEntry).order_by(AuditEntry.occurred_at, AuditEntry.seq)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return [(e.action, e.outcome) for e in db.session.scalars(query)]


def count(model) -> int:
    """Rows of `model` visible to the test."""
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


class Clock:
    """A settable time.time() for TOTP tests (monkeypatched into practice.auth.totp)."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now
