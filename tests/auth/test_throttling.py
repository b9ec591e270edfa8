"""Sign-in throttling that neither tells nor locks out (SECURITY 15 and 33, NIST SP 800-63B
5.2.2): failures counted per address, per account and address, and per account; successes
not; known and unknown accounts answered alike; a stranger cannot lock a clinician out of
their own practice; counters in flask-limiter's storage (memory, or Redis)."""

from __future__ import annotations

import statistics
import time

import pytest
import redis
from limits.storage import MemoryStorage, RedisStorage

from config import config_for
from practice import create_app
from practice.extensions import db, limiter
from tests.conftest import REDIS_TEST_URL, TEST_SECRET_KEY
from tests.factories import PASSWORD, bearer, make_practice, make_user
from tests.helpers import assert_error, audit_actions, settle

REDIS_URL = REDIS_TEST_URL
SMALL = {
    "LOGIN_ADDRESS_FAILURES": "8 per 15 minutes",
    "LOGIN_ACCOUNT_ADDRESS_FAILURES": "3 per 15 minutes",
    "LOGIN_ACCOUNT_FAILURES": "5 per hour",
}
CLINIC = "203.0.113.10"
WRONG = "wrong password here"


def limited_app(database, keyring_path, **overrides):
    """A testing app with the limiter on (TestingConfig turns it off)."""
    config = {
        "SQLALCHEMY_DATABASE_URI": database.url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "PRACTICE_KEYRING": str(keyring_path),
        "RATELIMIT_ENABLED": True,
    }
    config.update(overrides)
    return create_app("testing", config)


@pytest.fixture
def restore_limiter():
    """The limiter is one object shared by every app: switch it back off afterwards."""
    yield
    limiter.enabled = False


def _limited(database, keyring_path, **overrides):
    app = limited_app(database, keyring_path, **overrides)
    limiter.reset()
    return app


def _dispose(app):
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def small(database, keyring_path, restore_limiter):
    """Small limits, so that a test reaches them in a few requests."""
    app = _limited(database, keyring_path, **SMALL)
    yield app
    _dispose(app)


@pytest.fixture
def defaults(database, keyring_path, restore_limiter):
    """The limits a deployment gets without configuring any."""
    app = _limited(database, keyring_path)
    yield app
    _dispose(app)


def attempt(client, email, address, password=WRONG):
    return client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_throttled(response):
    body = assert_error(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    return body


def test_a_clinic_of_30_behind_one_address_is_never_refused(defaults):
    """Issue 14: thirty people signing in within two minutes from the clinic's one public
    address, each mistyping once first, all get in (the old limit refused the eleventh)."""
    assert isinstance(limiter.storage, MemoryStorage)
    practice = make_practice()
    staff = [make_user(practice) for _ in range(30)]
    settle()
    started = time.monotonic()
    for user in staff:
        assert_error(attempt(defaults.test_client(), user.email, CLINIC), 401)
        assert attempt(defaults.test_client(), user.email, CLINIC, PASSWORD).status_code == 200
    assert time.monotonic() - started < 120


def test_successes_do_not_count(small):
    practice = make_practice()
    user = make_user(practice)
    settle()
    for _ in range(12):
        assert attempt(small.test_client(), user.email, CLINIC, PASSWORD).status_code == 200


def test_a_guessing_run_against_one_account_is_refused(small):
    practice = make_practice()
    user = make_user(practice)
    settle()
    client = small.test_client()
    for _ in range(3):
        assert_error(attempt(client, user.email, "198.51.100.1"), 401)
    # From that address: refused, even the right password (the guesser cannot tell).
    assert_throttled(attempt(client, user.email, "198.51.100.1", PASSWORD))
    assert_throttled(attempt(client, " " + user.email.upper(), "198.51.100.1"))
    # Spread over addresses: the account's own limit (5 an hour) stops the run.
    assert_error(attempt(client, user.email, "198.51.100.2"), 401)
    assert_error(attempt(client, user.email, "198.51.100.3"), 401)
    assert_throttled(attempt(client, user.email, "198.51.100.4"))
    assert ("auth.throttled", "denied") in audit_actions(object_id=str(user.id))


def test_a_guessing_run_across_accounts_from_one_address_is_refused(small):
    client = small.test_client()
    for n in range(8):
        assert_error(attempt(client, f"person{n}@example.test", "203.0.113.7"), 401)
    assert_throttled(attempt(client, "person9@example.test", "203.0.113.7"))
    assert_error(attempt(client, "person9@example.test", "203.0.113.8"), 401)


def test_known_and_unknown_accounts_answer_alike(small):
    """Issue 16 item 5: the lockout answered 429 for a known account and 401 for an
    unknown one. Now every answer is the same, including Retry-After, and takes about
    as long (an unknown email still costs one password verification)."""
    practice = make_practice()
    user = make_user(practice)
    settle()
    client = small.test_client()

    def run(email, address):
        answers = []
        for _ in range(5):
            response = attempt(client, email, address)
            retry = response.headers.get("Retry-After")
            answers.append((response.status_code, response.get_json(), retry and int(retry) // 10))
        return answers

    known = run(user.email, "192.0.2.1")
    unknown = run("no-such-person@example.test", "192.0.2.2")
    assert known == unknown
    assert [status for status, _, _ in known] == [401, 401, 401, 429, 429]

    def seconds(email, address):
        started = time.perf_counter()
        assert_error(attempt(client, email, address), 401)
        return time.perf_counter() - started

    known_time = statistics.median(seconds(user.email, f"192.0.2.{10 + n}") for n in range(2))
    unknown_time = statistics.median(
        seconds(f"ghost{n}@example.test", f"192.0.2.{20 + n}") for n in range(2)
    )
    assert unknown_time > 0.4 * known_time


def test_a_stranger_cannot_lock_a_clinician_out_of_their_practice(small):
    practice = make_practice()
    victim = make_user(practice)
    settle()
    at_work = small.test_client()
    assert attempt(at_work, victim.email, CLINIC, PASSWORD).status_code == 200
    stranger = small.test_client()
    for n in range(12):  # from many addresses, until the account's own limit refuses
        attempt(stranger, victim.email, f"198.51.100.{50 + n}")
    assert_throttled(attempt(stranger, victim.email, "198.51.100.99", PASSWORD))
    # At the practice, where they signed in before, the clinician is not held back, even
    # after a typo of their own.
    assert_error(attempt(at_work, victim.email, CLINIC), 401)
    assert attempt(at_work, victim.email, CLINIC, PASSWORD).status_code == 200


def test_a_stolen_session_is_no_password_oracle(small):
    """SECURITY 30: wrong passwords at step-up count like failed sign-ins; once the limit
    is used up, even the right password is refused from there (429)."""
    practice = make_practice()
    user = make_user(practice)
    headers = bearer(user)
    settle()
    client = small.test_client()
    environ = {"REMOTE_ADDR": "198.51.100.70"}
    body = {"name": "exfiltrate", "password": "a guess"}
    for _ in range(3):
        assert_error(
            client.post("/api/v1/auth/tokens", json=body, headers=headers, environ_base=environ),
            403,
        )
    body["password"] = PASSWORD
    assert_throttled(
        client.post("/api/v1/auth/tokens", json=body, headers=headers, environ_base=environ)
    )
    change = {"current_password": PASSWORD, "new_password": "fresh meadow lantern"}
    assert_throttled(
        client.post("/api/v1/auth/password", json=change, headers=headers, environ_base=environ)
    )
    assert_throttled(attempt(client, user.email, "198.51.100.70", PASSWORD))
    actions = audit_actions(object_id=str(user.id))
    assert actions.count(("auth.token_create", "failure")) == 3


def test_limits_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("LOGIN_ACCOUNT_FAILURES", "20 per 2 hours")
    monkeypatch.setenv("PRACTICE_TOKEN_DAYS", "30")
    cls = config_for("testing")
    settings = cls.from_environment()
    assert settings["LOGIN_ACCOUNT_FAILURES"] == "20 per 2 hours"
    assert settings["PRACTICE_TOKEN_DAYS"] == 30
    assert cls.problems() == []
    monkeypatch.setenv("LOGIN_ADDRESS_FAILURES", "lots")
    monkeypatch.setenv("PRACTICE_TOKEN_MAX_DAYS", "10")
    problems = " ".join(cls.problems())
    assert "LOGIN_ADDRESS_FAILURES" in problems
    assert "PRACTICE_TOKEN_DAYS must not exceed PRACTICE_TOKEN_MAX_DAYS" in problems


def test_redis_storage_is_shared_and_names_nobody(database, keyring_path, restore_limiter):
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    app = limited_app(database, keyring_path, RATELIMIT_STORAGE_URI=REDIS_URL, **SMALL)
    other = None
    try:
        assert isinstance(limiter.storage, RedisStorage)
        for _ in range(3):
            assert_error(
                attempt(app.test_client(), "redis-target@example.test", "203.0.113.50"), 401
            )
        keys = [k.decode() for k in store.keys("*")]
        assert keys, "the counters live in Redis"
        # Neither the email nor the address is stored as such.
        assert not any("redis-target" in k or "203.0.113" in k for k in keys)
        # Another process (a second app with its own connection) sees the same counts.
        other = limited_app(database, keyring_path, RATELIMIT_STORAGE_URI=REDIS_URL, **SMALL)
        throttled = attempt(other.test_client(), "redis-target@example.test", "203.0.113.50")
        assert_throttled(throttled)
    finally:
        store.flushdb()
        store.close()
        for each in (app, other):
            if each is not None:
                _dispose(each)


def test_an_owner_totp_reset_step_up_is_counted(small):
    """SECURITY 30: removing someone's second factor asks for the owner's password; wrong
    answers count like failed sign-ins, so a stolen owner session cannot guess it."""
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    user = make_user(practice)
    user.totp_secret = "sealed seed stand-in"
    user.totp_enabled = True
    headers = bearer(owner)
    settle()
    client = small.test_client()
    environ = {"REMOTE_ADDR": "198.51.100.71"}
    url = f"/api/v1/users/{user.id}/totp"
    for _ in range(3):
        wrong = {"password": "a guess"}
        assert_error(client.delete(url, json=wrong, headers=headers, environ_base=environ), 403)
    right = {"password": PASSWORD}
    assert_throttled(client.delete(url, json=right, headers=headers, environ_base=environ))
    db.session.expire_all()
    assert db.session.get(type(user), user.id).totp_enabled
    assert audit_actions(object_id=str(owner.id)).count(("user.totp_reset", "failure")) == 3
