"""Login, logout, me, CSRF, server-side sessions and timeouts (throttling: test_throttling)."""

from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher

from practice.auth import sessions
from practice.auth.models import UserSession
from practice.database import utcnow
from practice.extensions import db
from tests.factories import PASSWORD, bearer, make_practice, make_user
from tests.helpers import assert_error, audit_actions, login, login_csrf, settle

ME = "/api/v1/auth/me"


def _record(user) -> UserSession:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.created_at.desc())
    ).first()


def test_login_me_logout_and_replayed_cookie(client):
    practice = make_practice()
    user = make_user(practice, ["owner", "clinician"])
    response = login(client, user)
    assert response.status_code == 200
    assert response.get_json()["totp_enrolment_required"] is False
    csrf = response.get_json()["csrf_token"]
    cookie = client.get_cookie("practice_session")
    assert cookie is not None
    me = client.get(ME).get_json()
    assert me["email"] == user.email
    assert me["practice"]["timezone"] == "Europe/Berlin"
    assert sorted(me["roles"]) == ["clinician", "owner"]
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    # The same cookie, replayed after logout, no longer works.
    client.set_cookie("practice_session", cookie.value)
    assert_error(client.get(ME), 401)
    assert _record(user).ended_reason == "logout"
    actions = audit_actions(actor_id=user.id)
    assert ("auth.login", "success") in actions and ("auth.logout", "success") in actions


def test_same_401_body_for_unknown_user_wrong_password_and_inactive(client):
    practice = make_practice()
    user = make_user(practice)
    inactive = make_user(practice)
    inactive.active = False
    settle()
    wrong = login(client, user, "wrong password entirely")
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.test", "password": "whatever it is"}
    )
    deactivated = login(client, inactive)
    assert wrong.status_code == unknown.status_code == deactivated.status_code == 401
    assert wrong.get_json() == unknown.get_json() == deactivated.get_json()
    assert ("auth.login_failed", "failure") in audit_actions(object_id=str(user.id))
    assert ("auth.login_failed", "failure") in audit_actions(action="auth.login_failed")


def test_unknown_user_costs_one_password_verification(client, monkeypatch):
    """The timing equaliser: an unknown email spends one argon2 verification too."""
    practice = make_practice()
    user = make_user(practice)
    settle()
    calls = []
    original = PasswordHasher.verify

    def counting(self, hash_, password):
        calls.append(1)
        return original(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    login(client, user, "wrong password entirely")
    wrong_calls = len(calls)
    calls.clear()
    client.post("/api/v1/auth/login", json={"email": "x@example.test", "password": "y" * 20})
    assert wrong_calls == len(calls) == 1


def test_login_starts_a_fresh_session_each_time(client):
    practice = make_practice()
    user = make_user(practice)
    login(client, user)
    first = client.get_cookie("practice_session").value
    login(client, user)
    second = client.get_cookie("practice_session").value
    assert first != second
    live = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(live) == 2 and len({s.secret_hash for s in live}) == 2


def test_cookie_holds_only_an_opaque_secret(app, client):
    practice = make_practice()
    user = make_user(practice)
    login(client, user)
    raw = client.get_cookie("practice_session").value
    data = app.session_interface.get_signing_serializer(app).loads(raw)
    assert set(data) <= {"sid", "_permanent"}
    assert str(user.id) not in raw and user.email not in raw
    # Only its SHA-256 is stored.
    assert _record(user).secret_hash != data["sid"]


def test_cookie_writes_need_csrf_header_bearer_needs_none(client):
    practice = make_practice()
    user = make_user(practice)
    login(client, user)
    assert_error(client.post("/api/v1/auth/logout"), 403)
    assert_error(client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "forged"}), 403)
    assert client.get(ME).status_code == 200
    headers = bearer(user)
    other = client.application.test_client()
    assert (
        other.post(
            "/api/v1/auth/tokens", json={"name": "ci", "password": PASSWORD}, headers=headers
        ).status_code
        == 201
    )


def test_csrf_endpoint_returns_the_session_token(client):
    practice = make_practice()
    user = make_user(practice)
    headers = login_csrf(client, user)
    assert client.get("/api/v1/auth/csrf").get_json()["csrf_token"] == headers["X-CSRF-Token"]
    assert_error(client.application.test_client().get("/api/v1/auth/csrf"), 401)
    assert_error(
        client.application.test_client().get("/api/v1/auth/csrf", headers=bearer(user)), 400
    )


def _idled_out(app, client):
    """A user logged in on `client` whose session has been idle past the timeout."""
    user = make_user(make_practice())
    login(client, user)
    record = _record(user)
    record.last_seen_at = utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    settle()
    return user, record


def test_idle_timeout_ends_the_session(app, client, monkeypatch):
    user, record = _idled_out(app, client)
    assert_error(client.get(ME), 401)
    assert _record(user).ended_reason == "idle_timeout"
    rejected = ("auth.credential_rejected", "denied")
    assert audit_actions(object_id=str(record.id)).count(rejected) == 1
    for _ in range(5):  # the ended session's cookie, replayed: one entry per window
        assert_error(client.get(ME), 401)
    assert audit_actions(object_id=str(record.id)).count(rejected) == 1
    monkeypatch.setattr(sessions, "REJECTION_AUDIT_EVERY", 0.0)  # the window has passed
    assert_error(client.get(ME), 401)
    assert audit_actions(object_id=str(record.id)).count(rejected) == 2


def test_a_stale_cookie_is_not_audited_on_a_route_that_needs_no_login(app, client):
    """Logging in again (here: failing to) with a timed-out session's cookie still in
    the browser records the failed login, not a rejected credential of the last user."""
    _idled_out(app, client)
    body = {"email": "nobody@example.test", "password": "not the password at all"}
    assert_error(client.post("/api/v1/auth/login", json=body), 401)
    actions = [action for action, _ in audit_actions()]
    assert "auth.login_failed" in actions and "auth.credential_rejected" not in actions


def test_activity_keeps_the_session_alive(app, client):
    practice = make_practice()
    user = make_user(practice)
    login(client, user)
    record = _record(user)
    record.last_seen_at = utcnow() - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] - 1)
    settle()
    assert client.get(ME).status_code == 200
    assert utcnow() - _record(user).last_seen_at < timedelta(minutes=1)


def test_absolute_timeout_ends_an_active_session(app, client):
    practice = make_practice()
    user = make_user(practice)
    login(client, user)
    record = _record(user)
    record.created_at = utcnow() - timedelta(hours=app.config["SESSION_MAX_HOURS"], minutes=1)
    record.last_seen_at = utcnow()
    settle()
    assert_error(client.get(ME), 401)
    assert _record(user).ended_reason == "absolute_timeout"


def test_argon2id_parameters(app):
    practice = make_practice()
    user = make_user(practice)
    assert app.config["ARGON2_MEMORY_COST"] >= 19 * 1024
    assert app.config["ARGON2_TIME_COST"] >= 2
    assert user.password_hash.startswith("$argon2id$")
    assert f"m={app.config['ARGON2_MEMORY_COST']},t={app.config['ARGON2_TIME_COST']}" in (
        user.password_hash
    )


def test_login_rehashes_when_parameters_change(app, client, monkeypatch):
    practice = make_practice()
    user = make_user(practice)
    settle()
    before = user.password_hash
    assert login(client, user).status_code == 200
    db.session.refresh(user)
    assert user.password_hash == before  # same parameters: left alone
    monkeypatch.setitem(app.config, "ARGON2_TIME_COST", app.config["ARGON2_TIME_COST"] + 1)
    assert login(client, user).status_code == 200
    db.session.refresh(user)
    assert f"t={app.config['ARGON2_TIME_COST']}" in user.password_hash
    assert user.password_hash != before
    assert login(client, user, PASSWORD).status_code == 200
