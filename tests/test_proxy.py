"""PRACTICE_PROXY_HOPS: the client address comes from trusted proxies only."""

import sqlalchemy as sa

from practice import trust_proxies
from practice.audit.models import AuditEntry
from practice.extensions import db
from tests.factories import PASSWORD, make_practice, make_user


def failed_login_address(client) -> str:
    client.post(
        "/api/v1/auth/login",
        json={"email": "nobody@example.test", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    return db.session.scalar(
        sa.select(AuditEntry.address)
        .where(AuditEntry.action == "auth.login_failed")
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.seq.desc())
    )


def test_without_proxies_a_forwarded_header_is_ignored(client):
    assert failed_login_address(client) == "10.1.2.3"


def test_behind_one_proxy_the_forwarded_address_is_used(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PRACTICE_PROXY_HOPS", 1)
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # restored after the test
    trust_proxies(app)
    make_user(make_practice(), ["owner"])
    assert failed_login_address(client) == "203.0.113.9"
