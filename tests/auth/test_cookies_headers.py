"""Cookie attributes and security headers, in testing and in a production-config app."""

from __future__ import annotations

import pytest

from practice import create_app
from practice.audit import sealer
from practice.extensions import db, limiter
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_practice, make_user
from tests.helpers import login


def cookie_header(response) -> str:
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1, cookies  # the session cookie and nothing else: no remember-me
    assert cookies[0].startswith("practice_session=")
    return cookies[0]


@pytest.fixture
def production_app(database, keyring_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", database.url)
    monkeypatch.setenv("PRACTICE_KEYRING", str(keyring_path))
    monkeypatch.setenv("PRACTICE_SINGLE_PROCESS", "1")  # memory:// rate limits below
    app = create_app(
        "production",
        {
            "SQLALCHEMY_DATABASE_URI": database.url,
            "SECRET_KEY": TEST_SECRET_KEY,
            "PRACTICE_KEYRING": str(keyring_path),
            "RATELIMIT_STORAGE_URI": "memory://",
        },
    )
    limiter.reset()
    yield app
    limiter.enabled = False  # the limiter is shared by every app in this process
    with app.app_context():
        # Production seals audit entries deferred: end this app's sealer thread and seal
        # what its requests queued, so no later test finds them waiting.
        if "audit_sealer" in app.extensions:  # PostgreSQL only
            app.extensions["audit_sealer"].stop()
            sealer.seal()
        db.engine.dispose()


def test_testing_cookie_flags_and_no_remember_me(client):
    practice = make_practice()
    user = make_user(practice)
    header = cookie_header(login(client, user)).lower()
    assert "httponly" in header and "samesite=lax" in header
    assert "secure" not in header  # plain HTTP outside production
    assert "remember" not in header


def test_production_cookie_is_secure_and_hsts_is_sent(production_app):
    practice = make_practice()
    user = make_user(practice)
    db.session.commit()
    client = production_app.test_client()
    response = login(client, user, base_url="https://practice.example.test")
    assert response.status_code == 200, response.get_data(as_text=True)
    header = cookie_header(response).lower()
    assert "secure" in header and "httponly" in header and "samesite=lax" in header
    assert "max-age=63072000" in response.headers["Strict-Transport-Security"]
    me = client.get("/api/v1/auth/me", base_url="https://practice.example.test")
    assert me.status_code == 200


def test_no_hsts_in_testing_or_development(client):
    assert "Strict-Transport-Security" not in client.get("/api/v1/health").headers


@pytest.mark.parametrize(
    "path", ["/api/v1/health", "/api/v1/auth/me", "/api/v1/users", "/api/v1/nothing-here"]
)
def test_api_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_login_response_is_not_cached(client):
    practice = make_practice()
    user = make_user(practice)
    response = login(client, user)
    assert response.headers["Cache-Control"] == "no-store"
