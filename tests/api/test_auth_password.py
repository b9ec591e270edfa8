"""POST /api/v1/auth/password: the current password (403 when wrong), policy reasons as 422
field errors; other sessions end; the answer lists the tokens that still work."""

import pytest

from practice.auth import passwords
from practice.auth.models import User
from practice.extensions import db
from tests.factories import PASSWORD, bearer, make_practice, make_user
from tests.helpers import assert_error, audit_actions, login, login_csrf, settle

URL = "/api/v1/auth/password"
NEW = "meadow lantern copper kite"


def test_change_ends_other_sessions_not_this_one(app, client):
    practice = make_practice()
    user = make_user(practice)
    other_device = app.test_client()
    login(other_device, user)
    old_cookie = other_device.get_cookie("practice_session").value
    headers = login_csrf(client, user)
    response = client.post(
        URL, json={"current_password": PASSWORD, "new_password": NEW}, headers=headers
    )
    assert response.status_code == 200
    assert response.get_json() == {"tokens": [], "tokens_revoked": 0}
    assert client.get("/api/v1/auth/me").status_code == 200
    replay = app.test_client()
    replay.set_cookie("practice_session", old_cookie)
    assert_error(replay.get("/api/v1/auth/me"), 401)
    assert_error(login(app.test_client(), user), 401)
    assert login(app.test_client(), user, NEW).status_code == 200
    actions = audit_actions(object_id=str(user.id))
    assert ("auth.password_change", "success") in actions
    assert ("auth.sessions_ended", "success") in actions


def test_change_by_bearer_ends_every_cookie_session(app, client):
    practice = make_practice()
    user = make_user(practice)
    browser = app.test_client()
    login(browser, user)
    response = client.post(
        URL, json={"current_password": PASSWORD, "new_password": NEW}, headers=bearer(user)
    )
    assert response.status_code == 200
    assert [t["name"] for t in response.get_json()["tokens"]] == ["tests"]  # the caller's own
    assert_error(browser.get("/api/v1/auth/me"), 401)


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        ("short", "at least 12"),
        ("password1234", "common"),
        ("x" * 257, "at most 256"),
        (PASSWORD, "different"),
    ],
)
def test_policy_reasons_are_field_errors(client, new, reason):
    practice = make_practice()
    user = make_user(practice)
    settle()
    before = user.password_hash
    body = assert_error(
        client.post(
            URL, json={"current_password": PASSWORD, "new_password": new}, headers=bearer(user)
        ),
        422,
    )
    assert any(reason in m for m in body["errors"]["json"]["new_password"])
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


def test_name_and_email_are_refused(client):
    practice = make_practice()
    user = make_user(practice, name="Ottilie Brambleworth")
    settle()
    body = assert_error(
        client.post(
            URL,
            json={"current_password": PASSWORD, "new_password": "brambleworth forever and ever"},
            headers=bearer(user),
        ),
        422,
    )
    assert "name or email" in body["errors"]["json"]["new_password"][0]


def test_wrong_current_password_is_refused_and_audited(client):
    practice = make_practice()
    user = make_user(practice)
    settle()
    body = assert_error(
        client.post(
            URL,
            json={"current_password": "not it at all", "new_password": NEW},
            headers=bearer(user),
        ),
        403,
    )
    assert "current password" in body["message"]
    assert ("auth.password_change", "failure") in audit_actions(object_id=str(user.id))


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"current_password": PASSWORD},
        {"current_password": PASSWORD, "new_password": 123456789012},
        {"current_password": PASSWORD, "new_password": NEW, "admin": True},
        {"current_password": PASSWORD, "new_password": "y" * 100_000},
        {"current_password": None, "new_password": NEW},
        {"current_password": "' OR 1=1; --", "new_password": "'; DROP TABLE users; --x"},
    ],
)
def test_bad_input_is_4xx_and_changes_nothing(client, payload):
    practice = make_practice()
    user = make_user(practice)
    settle()
    before = user.password_hash
    response = client.post(URL, json=payload, headers=bearer(user))
    assert_error(response, response.status_code)
    assert 400 <= response.status_code < 500
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


def test_unicode_passphrase_round_trips(client):
    practice = make_practice()
    user = make_user(practice)
    new = "ünïcödé pässphräsé 猫が眠る"
    response = client.post(
        URL, json={"current_password": PASSWORD, "new_password": new}, headers=bearer(user)
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert passwords.verify_password(db.session.get(User, user.id).password_hash, new)


def test_needs_login_and_csrf(client):
    assert_error(client.post(URL, json={"current_password": "a", "new_password": "b"}), 401)
    practice = make_practice()
    user = make_user(practice)
    login(client, user)
    assert_error(client.post(URL, json={"current_password": PASSWORD, "new_password": NEW}), 403)


TEMPORARY = "harbour violet sixteen lanterns"


def test_a_reset_password_must_be_replaced_before_anything_else(app, client):
    """After the operator's `flask practice reset-password`: the temporary password logs
    in, but only the password change (and login, logout, me, csrf) answer until the user
    has chosen their own."""
    practice = make_practice()
    user = make_user(practice)
    old_session = app.test_client()
    login(old_session, user)
    settle()
    result = app.test_cli_runner(env={"PRACTICE_NEW_PASSWORD": TEMPORARY}).invoke(
        args=["practice", "reset-password", user.email]
    )
    assert result.exit_code == 0, result.output
    assert_error(old_session.get("/api/v1/auth/me"), 401)  # every session ended
    assert_error(login(app.test_client(), user), 401)  # the forgotten one no longer works
    headers = login_csrf(client, user, TEMPORARY)
    me = client.get("/api/v1/auth/me").get_json()
    assert me["password_reset_required"] is True
    refused = assert_error(client.get("/api/v1/clients"), 403)
    assert "/api/v1/auth/password" in refused["message"]
    assert_error(client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=headers), 403)
    changed = client.post(
        URL, json={"current_password": TEMPORARY, "new_password": NEW}, headers=headers
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert client.get("/api/v1/auth/me").get_json()["password_reset_required"] is False
    assert client.get("/api/v1/clients").status_code == 200
    assert ("user.password_reset", "success") in audit_actions(object_id=str(user.id))


def test_a_reset_and_a_required_enrolment_leave_both_paths_open(app, client):
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    user = make_user(practice)
    owner.totp_enabled = True
    practice.require_totp = True
    settle()
    env = {"PRACTICE_NEW_PASSWORD": TEMPORARY}
    result = app.test_cli_runner(env=env).invoke(args=["practice", "reset-password", user.email])
    assert result.exit_code == 0, result.output
    headers = login_csrf(client, user, TEMPORARY)
    message = assert_error(client.get("/api/v1/clients"), 403)["message"]
    assert "two-factor" in message and "password" in message
    assert client.post("/api/v1/auth/totp/setup", headers=headers).status_code == 200
    changed = client.post(
        URL, json={"current_password": TEMPORARY, "new_password": NEW}, headers=headers
    )
    assert changed.status_code == 200
    assert_error(client.get("/api/v1/clients"), 403)  # enrolment is still pending


def test_reset_password_cli_refusals(app):
    practice = make_practice()
    user = make_user(practice)
    settle()
    before = db.session.get(User, user.id).password_hash
    runner = app.test_cli_runner(env={"PRACTICE_NEW_PASSWORD": "password1234"})
    weak = runner.invoke(args=["practice", "reset-password", user.email])
    assert weak.exit_code != 0 and "common" in weak.output
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    assert stored.password_hash == before and stored.password_reset_required is False
    unknown = runner.invoke(args=["practice", "reset-password", "nobody@example.test"])
    assert unknown.exit_code != 0 and "no user" in unknown.output
