"""Login throttling (flask-limiter): per client address and per submitted email, 429 in the
error shape with Retry-After; memory storage by default, Redis when configured."""

from __future__ import annotations

import pytest
import redis
from limits.storage import MemoryStorage, RedisStorage

from practice import create_app
from practice.extensions import limiter
from tests.conftest import TEST_SECRET_KEY
from tests.factories import PASSWORD, bearer, make_practice, make_user
from tests.helpers import assert_error, settle

REDIS_URL = "redis://127.0.0.1:6379/15"


def limited_app(database, keyring_path, **overrides):
    """A testing app with the limiter on (TestingConfig turns it off)."""
    config = {
        "SQLALCHEMY_DATABASE_URI": database.url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PRACTICE_KEYRING": str(keyring_path),
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_LIMIT": "3 per minute",
    }
    config.update(overrides)
    return create_app("testing", config)


@pytest.fixture
def restore_limiter():
    """The limiter is one object shared by every app: switch it back off afterwards."""
    yield
    limiter.enabled = False


@pytest.fixture
def app_limited(database, keyring_path, restore_limiter):
    app = limited_app(database, keyring_path)
    limiter.reset()
    yield app
    from practice.extensions import db

    with app.app_context():
        db.engine.dispose()


def attempt(client, email, address, password=None):
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password or "wrong password here"},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_throttled(response):
    body = assert_error(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    return body


def test_per_address(app_limited):
    assert isinstance(limiter._storage, MemoryStorage)
    client = app_limited.test_client()
    for n in range(3):
        assert_error(attempt(client, f"person{n}@example.test", "203.0.113.7"), 401)
    assert_throttled(attempt(client, "person9@example.test", "203.0.113.7"))
    # Another address is not affected.
    assert_error(attempt(client, "person9@example.test", "203.0.113.8"), 401)


def test_per_submitted_email(app_limited):
    client = app_limited.test_client()
    for n in range(3):
        assert_error(attempt(client, "Target@Example.test", f"198.51.100.{n}"), 401)
    # The same account from a fresh address (and spelled differently) is still throttled.
    assert_throttled(attempt(client, " target@example.TEST", "198.51.100.99"))
    assert_error(attempt(client, "someone-else@example.test", "198.51.100.98"), 401)


def test_throttled_even_with_the_right_password(app_limited):
    practice = make_practice()
    user = make_user(practice)
    settle()
    client = app_limited.test_client()
    for _ in range(3):
        attempt(client, user.email, "192.0.2.1")
    assert_throttled(attempt(client, user.email, "192.0.2.2", PASSWORD))


def test_password_change_is_throttled_per_user(app_limited):
    practice = make_practice()
    user = make_user(practice)
    headers = bearer(user)
    settle()
    client = app_limited.test_client()
    body = {"current_password": "not the password", "new_password": "fresh meadow lantern"}
    for _ in range(3):
        assert_error(client.post("/api/v1/auth/password", json=body, headers=headers), 422)
    assert_throttled(client.post("/api/v1/auth/password", json=body, headers=headers))


def test_redis_storage(database, keyring_path, restore_limiter):
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    app = limited_app(database, keyring_path, RATELIMIT_STORAGE_URI=REDIS_URL)
    try:
        assert isinstance(limiter._storage, RedisStorage)
        client = app.test_client()
        for _ in range(3):
            assert_error(attempt(client, "redis-target@example.test", "203.0.113.50"), 401)
        assert_throttled(attempt(client, "redis-target@example.test", "203.0.113.51"))
        keys = [k.decode() for k in store.keys("*")]
        assert keys, "the counters live in Redis"
        # The email is hashed in the key, never stored as such.
        assert not any("redis-target" in k for k in keys)
    finally:
        store.flushdb()
        store.close()
        from practice.extensions import db

        with app.app_context():
            db.engine.dispose()
