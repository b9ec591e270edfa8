"""TOTP second factor: enrol, confirm, login with a code, replay refused, disable; sealing."""

import pyotp
import pytest
import sqlalchemy as sa

from practice.auth import totp as totp_module
from practice.auth.models import User
from practice.extensions import db
from practice.keys.keyring import Keyring
from practice.keys.sealed import SealedSecretError, open_secret
from tests.factories import PASSWORD, bearer, make_practice, make_user
from tests.helpers import Clock, assert_error, audit_actions, login, login_csrf, settle

T0 = 1_900_000_020.0  # the start of a 30-second step


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(T0)
    monkeypatch.setattr(totp_module, "time", clock)
    return clock


def code_at(secret, when):
    return pyotp.TOTP(secret).at(when)


def enrol(client, headers, clock):
    """Set up and confirm TOTP for the logged-in caller; returns the base32 secret."""
    return enrol_with_codes(client, headers, clock)[0]


def enrol_with_codes(client, headers, clock):
    """`enrol`, also returning the recovery codes the enable answer carries."""
    setup = client.post("/api/v1/auth/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.get_data(as_text=True)
    body = setup.get_json()
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    confirmed = client.post(
        "/api/v1/auth/totp/enable",
        json={"password": PASSWORD, "code": code_at(body["secret"], clock.now)},
        headers=headers,
    )
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    assert confirmed.get_json()["totp_enabled"] is True
    return body["secret"], confirmed.get_json()["recovery_codes"]


def test_enrol_then_login_requires_a_code(client, clock):
    practice = make_practice()
    user = make_user(practice)
    headers = login_csrf(client, user)
    setup = client.post("/api/v1/auth/totp/setup", headers=headers).get_json()
    db.session.refresh(user)
    assert user.totp_enabled is False  # not until confirmed
    assert setup["secret"] not in (user.totp_secret or "")
    clock.now += 30
    enable = "/api/v1/auth/totp/enable"
    assert_error(
        client.post(enable, json={"password": PASSWORD, "code": "000000"}, headers=headers), 422
    )
    # A stolen session cannot enrol its own authenticator: the password is asked again.
    code = code_at(setup["secret"], clock.now)
    refused = client.post(enable, json={"password": "a guess at it", "code": code}, headers=headers)
    assert_error(refused, 403)
    assert_error(client.post(enable, json={"code": code}, headers=headers), 422)
    db.session.refresh(user)
    assert user.totp_enabled is False
    ok = client.post(
        enable,
        json={"password": PASSWORD, "code": code},
        headers=headers,
    )
    assert ok.status_code == 200
    fresh = client.application.test_client()
    missing = login(fresh, user)
    wrong = login(fresh, user, totp="123456")
    unknown = fresh.post(
        "/api/v1/auth/login", json={"email": "nobody@example.test", "password": "x" * 12}
    )
    assert missing.status_code == wrong.status_code == 401
    assert missing.get_json() == wrong.get_json() == unknown.get_json()
    clock.now += 30
    assert login(fresh, user, totp=code_at(setup["secret"], clock.now)).status_code == 200
    actions = [a for a, _ in audit_actions(object_id=str(user.id))]
    assert {"auth.totp_setup", "auth.totp_enable", "auth.login"} <= set(actions)
    assert ("auth.totp_enable", "failure") in audit_actions(object_id=str(user.id))


def test_replayed_code_is_refused(client, clock):
    practice = make_practice()
    user = make_user(practice)
    secret = enrol(client, login_csrf(client, user), clock)
    clock.now += 30
    code = code_at(secret, clock.now)
    assert login(client.application.test_client(), user, totp=code).status_code == 200
    # The same code, still inside its window, a second time.
    assert_error(login(client.application.test_client(), user, totp=code), 401)
    # An older step after a newer one was used: refused too.
    assert_error(
        login(client.application.test_client(), user, totp=code_at(secret, clock.now - 30)), 401
    )
    clock.now += 30
    fresh = client.application.test_client()
    assert login(fresh, user, totp=code_at(secret, clock.now)).status_code == 200


def test_clock_drift_of_one_step_is_tolerated_not_two(client, clock):
    practice = make_practice()
    user = make_user(practice)
    secret = enrol(client, login_csrf(client, user), clock)
    clock.now += 300
    other = client.application.test_client()
    assert_error(login(other, user, totp=code_at(secret, clock.now + 60)), 401)
    assert login(other, user, totp=code_at(secret, clock.now + 30)).status_code == 200


def test_disable_needs_password_and_code(client, clock):
    practice = make_practice()
    user = make_user(practice)
    headers = login_csrf(client, user)
    secret = enrol(client, headers, clock)
    clock.now += 30
    url = "/api/v1/auth/totp/disable"
    code = code_at(secret, clock.now)
    body = assert_error(
        client.post(url, json={"password": "wrong wrong wrong", "code": code}, headers=headers), 403
    )
    assert "password" in body["message"]
    assert_error(
        client.post(url, json={"password": PASSWORD, "code": "111111"}, headers=headers), 403
    )
    assert (
        client.post(url, json={"password": PASSWORD, "code": code}, headers=headers).status_code
        == 204
    )
    db.session.refresh(user)
    assert not user.totp_enabled and user.totp_secret is None
    assert login(client.application.test_client(), user).status_code == 200
    assert ("auth.totp_disable", "success") in audit_actions(object_id=str(user.id))
    assert ("auth.totp_disable", "failure") in audit_actions(object_id=str(user.id))


def test_setup_when_enabled_is_409(client, clock):
    practice = make_practice()
    user = make_user(practice)
    headers = login_csrf(client, user)
    enrol(client, headers, clock)
    assert_error(client.post("/api/v1/auth/totp/setup", headers=headers), 409)
    assert_error(
        client.post(
            "/api/v1/auth/totp/enable",
            json={"password": PASSWORD, "code": "123456"},
            headers=headers,
        ),
        422,
    )


def test_seed_is_sealed_and_bound_to_its_user(app, client, clock):
    practice = make_practice()
    alice = make_user(practice)
    bob = make_user(practice)
    secret = enrol(client, login_csrf(client, alice), clock)
    raw = db.session.scalar(sa.select(User.totp_secret).where(User.id == alice.id))
    assert secret not in raw and raw.startswith("s1:")
    keyring = app.extensions["keyring"]
    assert open_secret(keyring, "totp", str(alice.id), raw).decode() == secret
    with pytest.raises(SealedSecretError):
        open_secret(keyring, "totp", str(bob.id), raw)
    # Copied onto another user (a DB-level attack), the seed does not open: login fails cleanly.
    bob.totp_secret, bob.totp_enabled = raw, True
    settle()
    clock.now += 30
    assert_error(login(client.application.test_client(), bob, totp=code_at(secret, clock.now)), 401)
    # Flipping any character of the sealed text is detected.
    tampered = raw[:-3] + ("A" if raw[-3] != "A" else "B") + raw[-2:]
    with pytest.raises(SealedSecretError):
        open_secret(keyring, "totp", str(alice.id), tampered)
    other = Keyring("kother", {"kother": b"\x01" * 32})
    with pytest.raises(SealedSecretError):
        open_secret(other, "totp", str(alice.id), raw)


def test_totp_endpoints_need_login_and_reject_bad_input(client, clock):
    assert_error(client.post("/api/v1/auth/totp/setup"), 401)
    practice = make_practice()
    user = make_user(practice)
    headers = bearer(user)
    settle()
    cases = [
        ("/api/v1/auth/totp/setup", {"extra": 1}),
        ("/api/v1/auth/totp/enable", {}),
        ("/api/v1/auth/totp/enable", {"code": 123456}),
        ("/api/v1/auth/totp/enable", {"code": "1" * 100_000}),
        ("/api/v1/auth/totp/enable", {"code": "' OR 1=1 --"}),
        ("/api/v1/auth/totp/enable", {"code": "\uff11\uff12\uff13\uff14\uff15\uff16"}),
        ("/api/v1/auth/totp/disable", {"password": PASSWORD}),
        ("/api/v1/auth/totp/disable", {"password": ["x"], "code": "123456"}),
    ]
    for url, body in cases:
        response = client.post(url, json=body, headers=headers)
        assert 400 <= response.status_code < 500, (url, body)
        assert_error(response, response.status_code)
    db.session.refresh(user)
    assert user.totp_secret is None and not user.totp_enabled


def test_owner_resets_a_lost_second_factor(client, clock):
    practice = make_practice()
    owner = make_user(practice, ("owner", "clinician"))
    user = make_user(practice)
    secret = enrol(client, login_csrf(client, user), clock)
    practice.require_totp = True
    settle()
    clock.now += 30
    phone_session = client.application.test_client()
    assert login(phone_session, user, totp=code_at(secret, clock.now)).status_code == 200
    assert phone_session.get("/api/v1/auth/me").status_code == 200

    url = f"/api/v1/users/{user.id}/totp"
    # Recent authentication (SECURITY 30): the owner has a factor, so password and code.
    owners_browser = client.application.test_client()
    owner_secret = enrol(owners_browser, login_csrf(owners_browser, owner), clock)
    clock.now += 30
    for body in ({}, {"password": PASSWORD}, {"password": "not my password", "totp": "123456"}):
        refused = client.delete(url, json=body, headers=bearer(owner))
        assert refused.status_code in (403, 422), body
        assert_error(refused, refused.status_code)
    wrong_code = {"password": PASSWORD, "totp": "000000"}
    assert_error(client.delete(url, json=wrong_code, headers=bearer(owner)), 403)
    db.session.refresh(user)
    assert user.totp_enabled  # nothing reset by a wrong answer
    assert phone_session.get("/api/v1/auth/me").status_code == 200
    failures = audit_actions(object_id=str(owner.id)).count(("user.totp_reset", "failure"))
    assert failures == 3  # each wrong answer audited (and counted: tests/auth/test_throttling)

    body = {"password": PASSWORD, "totp": code_at(owner_secret, clock.now)}
    response = client.delete(url, json=body, headers=bearer(owner))
    assert response.status_code == 204, response.get_data(as_text=True)
    db.session.refresh(user)
    assert (user.totp_enabled, user.totp_secret, user.totp_last_step) == (False, None, None)
    assert_error(phone_session.get("/api/v1/auth/me"), 401)  # the lost phone's session ended
    assert ("user.totp_reset", "success") in audit_actions(object_id=str(user.id))

    # The next login needs no code; the practice requires a factor, so enrol first.
    fresh = client.application.test_client()
    headers = login_csrf(fresh, user)
    assert_error(fresh.get("/api/v1/clients"), 403)
    new_secret = enrol(fresh, headers, clock)
    assert new_secret != secret
    # Idempotent for a user without a factor; 204 again.
    other = make_user(practice)
    settle()
    clock.now += 30
    body = {"password": PASSWORD, "totp": code_at(owner_secret, clock.now)}
    assert (
        client.delete(
            f"/api/v1/users/{other.id}/totp", json=body, headers=bearer(owner)
        ).status_code
        == 204
    )


def test_totp_reset_refusals(client, clock):
    practice = make_practice()
    owner = make_user(practice, ("owner",))
    clinician = make_user(practice)
    stranger_owner = make_user(make_practice("Far Shore Therapy"), ("owner",))
    settle()
    url = f"/api/v1/users/{clinician.id}/totp"
    body = {"password": PASSWORD}
    mine = f"/api/v1/users/{owner.id}/totp"
    assert_error(client.delete(mine, json=body, headers=bearer(owner)), 409)
    assert_error(client.delete(url, json=body, headers=bearer(clinician)), 403)
    assert_error(client.delete(url, json=body, headers=bearer(stranger_owner)), 404)
    assert_error(client.delete(url, json=body), 401)
    bad = "/api/v1/users/not-a-uuid/totp"
    assert_error(client.delete(bad, json=body, headers=bearer(owner)), 404)
    for wrong in ({}, {"password": 12}, {"password": PASSWORD, "totp": ["1"]}, [body]):
        assert_error(client.delete(url, json=wrong, headers=bearer(owner)), 422)
    assert_error(client.delete(url, json={"password": "a guess"}, headers=bearer(owner)), 403)


def test_recovery_codes_each_work_once_instead_of_a_code(client, clock):
    practice = make_practice()
    user = make_user(practice)
    secret, codes = enrol_with_codes(client, login_csrf(client, user), clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 19 and c.count("-") == 3 for c in codes)
    db.session.refresh(user)
    for code in codes:  # only hashes are stored
        assert code not in (user.totp_recovery_hashes or "")
        assert code.replace("-", "") not in (user.totp_recovery_hashes or "")
    fresh = client.application.test_client()
    typed = " " + codes[0].upper().replace("-", "") + " "  # as a person might type it
    response = login(fresh, user, totp=typed)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["user"]["totp_recovery_codes_left"] == 9
    assert ("auth.totp_recovery_code_used", "success") in audit_actions(object_id=str(user.id))
    assert_error(login(client.application.test_client(), user, totp=codes[0]), 401)  # used up
    assert_error(login(client.application.test_client(), user, totp="abcd-efgh-ijkl-mnop"), 401)
    assert login(client.application.test_client(), user, totp=codes[1]).status_code == 200
    clock.now += 30
    assert (
        login(client.application.test_client(), user, totp=code_at(secret, clock.now)).status_code
        == 200
    )


def test_new_recovery_codes_replace_the_old_and_disable_clears_them(client, clock):
    practice = make_practice()
    user = make_user(practice)
    headers = login_csrf(client, user)
    secret, old_codes = enrol_with_codes(client, headers, clock)
    url = "/api/v1/auth/totp/recovery-codes"
    clock.now += 30
    assert_error(
        client.post(
            url,
            json={"password": "wrong password!", "code": code_at(secret, clock.now)},
            headers=headers,
        ),
        403,
    )
    clock.now += 30
    fresh = client.post(
        url, json={"password": PASSWORD, "code": code_at(secret, clock.now)}, headers=headers
    )
    assert fresh.status_code == 200, fresh.get_data(as_text=True)
    new_codes = fresh.get_json()["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert_error(login(client.application.test_client(), user, totp=old_codes[2]), 401)
    assert ("auth.totp_recovery_codes", "success") in audit_actions(object_id=str(user.id))
    # Turning the factor off with a recovery code (the phone is gone) clears them all.
    off = client.post(
        "/api/v1/auth/totp/disable",
        json={"password": PASSWORD, "code": new_codes[0]},
        headers=headers,
    )
    assert off.status_code == 204, off.get_data(as_text=True)
    db.session.refresh(user)
    assert user.totp_recovery_hashes is None and user.totp_recovery_codes_left == 0
    body = client.post(url, json={"password": PASSWORD, "code": new_codes[1]}, headers=headers)
    assert_error(body, 422)  # not enabled any more
