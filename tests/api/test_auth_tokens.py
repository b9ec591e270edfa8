"""Personal API tokens: secret shown once, listed by prefix, revoked, expired, hashed."""

import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from practice.auth import service
from practice.auth.models import ApiToken
from practice.auth.sessions import digest
from practice.database import utcnow
from practice.extensions import db
from tests.factories import PASSWORD, bearer, make_practice, make_user
from tests.helpers import assert_error, audit_actions, audit_rows, count, login_csrf, settle

URL = "/api/v1/auth/tokens"


def test_create_list_use_and_revoke(client, app):
    practice = make_practice()
    user = make_user(practice)
    headers = login_csrf(client, user)
    created = client.post(URL, json={"name": "laptop sync", "password": PASSWORD}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    secret = body["secret"]
    assert secret.startswith("pt_") and body["prefix"] == secret[:10] and body["active"]
    stored = db.session.get(ApiToken, uuid.UUID(body["id"]))
    assert stored.secret_hash == digest(secret) and secret not in stored.secret_hash

    listed = client.get(URL).get_json()
    assert listed["total"] == 1
    assert listed["items"][0]["prefix"] == secret[:10]
    assert "secret" not in listed["items"][0] and secret not in str(listed)

    api = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/auth/me", headers=auth).status_code == 200
    assert client.delete(f"{URL}/{body['id']}", headers=headers).status_code == 204
    assert_error(api.get("/api/v1/auth/me", headers=auth), 401)
    assert client.get(URL).get_json()["items"][0]["active"] is False
    actions = audit_actions(object_id=body["id"])
    assert ("auth.token_create", "success") in actions
    assert ("auth.token_revoke", "success") in actions


def test_expired_token_is_401(client):
    practice = make_practice()
    user = make_user(practice)
    created = client.post(
        URL,
        json={
            "name": "short lived",
            "expires_at": (utcnow() + timedelta(hours=1)).isoformat(),
            "password": PASSWORD,
        },
        headers=bearer(user),
    )
    assert created.status_code == 201
    secret = created.get_json()["secret"]
    token = db.session.get(ApiToken, uuid.UUID(created.get_json()["id"]))
    token.expires_at = utcnow() - timedelta(seconds=1)
    settle()
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}), 401)


def test_others_tokens_are_404(client):
    practice = make_practice()
    alice = make_user(practice, ["owner"])
    bob = make_user(practice)
    stranger = make_user(make_practice("Elsewhere"), ["owner"])
    token, _ = service.issue_api_token(bob, "bobs")
    settle()
    for caller in (alice, stranger):
        assert_error(client.delete(f"{URL}/{token.id}", headers=bearer(caller)), 404)
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert ("access.denied", "denied") in audit_actions(object_id=str(token.id))
    assert str(token.id) not in str(client.get(URL, headers=bearer(alice)).get_json())


def test_unknown_and_malformed_bearers_are_401_and_name_nobody_in_the_audit(client):
    for header in ("Bearer pt_nope", "Bearer ", "Basic abc", "Bearer " + "x" * 10_000):
        assert_error(client.get("/api/v1/auth/me", headers={"Authorization": header}), 401)
    assert not audit_actions(action="auth.credential_rejected")


@pytest.mark.parametrize("why", ["revoked", "expired", "user deactivated"])
def test_a_known_token_that_no_longer_works_is_audited_against_its_owner(client, why):
    """SECURITY 22: a revoked token replayed is a failed authentication worth a record."""
    practice = make_practice()
    user = make_user(practice)
    token, secret = service.issue_api_token(user, "sync")
    if why == "revoked":
        token.revoked_at = utcnow()
    elif why == "expired":
        token.expires_at = utcnow() - timedelta(seconds=1)
    else:
        user.active = False
    settle()
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}), 401)
    [entry] = audit_rows("auth.credential_rejected")
    assert (entry.actor_id, entry.practice_id, entry.object_type, entry.object_id) == (
        user.id, practice.id, "api_token", str(token.id)
    )  # fmt: skip
    assert entry.outcome == "denied" and entry.address and secret not in str(vars(entry))


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": ""},
        {"name": 42},
        {"name": "x" * 100_000},
        {"name": "ok", "expires_at": "yesterday"},
        {"name": "ok", "expires_at": "2020-01-01T00:00:00+00:00"},
        {"name": "ok", "expires_at": "2999-01-01T00:00:00"},  # no offset
        {"name": "ok", "expires_at": "2999-01-01T00:00:00+00:00"},  # past the maximum
        {"name": "ok", "scope": "admin"},
        {"name": ["a"]},
    ],
)
def test_bad_input_is_4xx_and_stores_nothing(client, payload):
    practice = make_practice()
    user = make_user(practice)
    headers = bearer(user)
    settle()
    before = count(ApiToken)
    body = {**payload, "password": PASSWORD} if payload else payload
    assert_error(client.post(URL, json=body, headers=headers), 422)
    assert count(ApiToken) == before


@pytest.mark.parametrize("name", ["'; DROP TABLE api_tokens; --", "Schlüssel für den Kalender ✓"])
def test_odd_but_valid_names_are_stored_verbatim(client, name):
    practice = make_practice()
    user = make_user(practice)
    response = client.post(URL, json={"name": name, "password": PASSWORD}, headers=bearer(user))
    assert response.status_code == 201 and response.get_json()["name"] == name
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) >= 2


@pytest.mark.parametrize("bad", ["not-a-uuid", "1' OR '1'='1", "123"])
def test_non_uuid_ids_are_404(client, bad):
    practice = make_practice()
    user = make_user(practice)
    assert_error(client.delete(f"{URL}/{bad}", headers=bearer(user)), 404)


def test_list_is_paginated_and_needs_login(client):
    assert_error(client.get(URL), 401)
    practice = make_practice()
    user = make_user(practice)
    headers = bearer(user)
    for n in range(3):
        client.post(URL, json={"name": f"t{n}", "password": PASSWORD}, headers=headers)
    page = client.get(f"{URL}?page=2&page_size=2", headers=headers).get_json()
    assert page["total"] == 4 and len(page["items"]) == 2 and page["page"] == 2
    assert_error(client.get(f"{URL}?page_size=500", headers=headers), 422)


def create(client, headers, **body):
    return client.post(URL, json={"name": "sync", **body}, headers=headers)


def test_creating_a_token_needs_the_password_even_with_a_token(client):
    """SECURITY 30: a stolen cookie or token cannot mint a token that outlives it."""
    practice = make_practice()
    user = make_user(practice)
    settle()
    for headers in (login_csrf(client, user), bearer(user)):
        settle()
        before = count(ApiToken)
        assert_error(create(client, headers), 422)  # the password is required
        refused = assert_error(create(client, headers, password="not my password at all"), 403)
        assert "password" in refused["message"]
        assert count(ApiToken) == before
        assert create(client, headers, password=PASSWORD).status_code == 201
    assert (
        audit_actions(action="auth.token_create", outcome="failure")
        == [("auth.token_create", "failure")] * 2
    )


def test_tokens_expire_by_default_and_at_most_after_the_maximum(client, app, monkeypatch):
    practice = make_practice()
    user = make_user(practice)
    headers = bearer(user)
    settle()
    body = create(client, headers, password=PASSWORD).get_json()
    lifetime = datetime.fromisoformat(body["expires_at"]) - utcnow()
    assert timedelta(days=89, hours=23) < lifetime <= timedelta(days=90)
    monkeypatch.setitem(app.config, "PRACTICE_TOKEN_MAX_DAYS", 30)
    too_long = (utcnow() + timedelta(days=31)).isoformat()
    refused = assert_error(create(client, headers, password=PASSWORD, expires_at=too_long), 422)
    assert "30 days" in str(refused["errors"])
    ok = (utcnow() + timedelta(days=29)).isoformat()
    assert create(client, headers, password=PASSWORD, expires_at=ok).status_code == 201


def test_last_use_is_shown_and_written_at_most_once_a_minute(client):
    practice = make_practice()
    user = make_user(practice)
    token, secret = service.issue_api_token(user, "sync")
    settle()
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get(URL, headers=auth).get_json()["items"][0]["last_used_at"] is not None
    db.session.expire_all()
    first = db.session.get(ApiToken, token.id).last_used_at
    client.get("/api/v1/auth/me", headers=auth)
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at == first  # no write this minute
    db.session.get(ApiToken, token.id).last_used_at = first - timedelta(minutes=2)
    settle()
    client.get("/api/v1/auth/me", headers=auth)
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at > first - timedelta(seconds=1)


def test_password_change_lists_tokens_and_revokes_them_when_asked(client):
    practice = make_practice()
    user = make_user(practice)
    _token, secret = service.issue_api_token(user, "sync")
    headers = login_csrf(client, user)
    change = {"current_password": PASSWORD, "new_password": "quiet harbour lantern moss"}
    kept = client.post("/api/v1/auth/password", json=change, headers=headers)
    assert kept.status_code == 200
    assert [t["name"] for t in kept.get_json()["tokens"]] == ["sync"]
    assert kept.get_json()["tokens_revoked"] == 0
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )
    change = {
        "current_password": "quiet harbour lantern moss",
        "new_password": "another long quiet phrase",
        "revoke_tokens": True,
    }
    revoked = client.post("/api/v1/auth/password", json=change, headers=headers)
    assert revoked.status_code == 200
    assert revoked.get_json() == {"tokens": [], "tokens_revoked": 1}
    assert_error(client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}), 401)


@pytest.mark.parametrize("how", ["reset-password", "reset-totp", "owner totp reset", "email"])
def test_recovering_an_account_revokes_its_tokens(app, client, monkeypatch, how):
    """SECURITY 30: a token does not outlive a reset, a second-factor reset or an email change."""
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    user = make_user(practice)
    user.totp_secret = "sealed seed stand-in"  # a factor to reset
    _token, secret = service.issue_api_token(user, "sync")
    settle()
    stolen = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/auth/me", headers=stolen).status_code == 200
    if how == "email":
        user.totp_secret = None
        settle()
        body = {"password": PASSWORD, "email": "new-address@example.test"}
        assert (
            client.post(
                "/api/v1/auth/email", json=body, headers=login_csrf(client, user)
            ).status_code
            == 200
        )
    elif how == "owner totp reset":
        assert (
            client.delete(
                f"/api/v1/users/{user.id}/totp", json={"password": PASSWORD}, headers=bearer(owner)
            ).status_code
            == 204
        )
    else:
        monkeypatch.setenv("PRACTICE_NEW_PASSWORD", "temporary lantern password")
        result = app.test_cli_runner().invoke(args=["practice", how, user.email])
        assert result.exit_code == 0, result.output
        assert "API tokens are revoked" in result.output
    db.session.expire_all()
    assert_error(client.get("/api/v1/auth/me", headers=stolen), 401)
    assert service.live_tokens_of(db.session.get(type(user), user.id)) == []
