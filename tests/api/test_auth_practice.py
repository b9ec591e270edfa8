"""GET/PATCH /api/v1/practice and what a practice-wide TOTP requirement does to logins."""

import pyotp
import pytest

from practice.auth import totp as totp_module
from practice.auth.models import Practice
from practice.extensions import db
from tests.factories import PASSWORD, bearer, make_practice, make_user
from tests.helpers import Clock, assert_error, audit_actions, login, login_csrf, settle

URL = "/api/v1/practice"


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(1_900_000_020.0)
    monkeypatch.setattr(totp_module, "time", clock)
    return clock


def give_totp(user, clock) -> str:
    """Enable TOTP on `user` directly through the service; returns the seed."""
    seed, _uri = totp_module.begin_enrolment(user)
    totp_module.enable(user, pyotp.TOTP(seed).at(clock.now))
    clock.now += 30
    return seed


def test_everyone_reads_only_owners_change(client):
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    scheduler = make_user(practice, ["scheduler"])
    settle()
    body = client.get(URL, headers=bearer(scheduler)).get_json()
    assert body == {
        "id": str(practice.id),
        "name": practice.name,
        "timezone": "Europe/Berlin",
        "require_totp": False,
        "phone_region": None,
    }
    assert_error(client.patch(URL, json={"name": "Renamed"}, headers=bearer(scheduler)), 403)
    assert ("access.denied", "denied") in audit_actions(actor_id=scheduler.id)
    renamed = client.patch(URL, json={"name": "Quay Street Clinic"}, headers=bearer(owner))
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Quay Street Clinic"
    assert ("practice.update", "success") in audit_actions(actor_id=owner.id)
    assert_error(client.get(URL), 401)


def test_owner_without_totp_cannot_require_it(client):
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    settle()
    body = assert_error(client.patch(URL, json={"require_totp": True}, headers=bearer(owner)), 422)
    assert "require_totp" in body["errors"]["json"]
    db.session.refresh(practice)
    assert practice.require_totp is False


def test_each_practice_has_its_own_phone_region(client, app, monkeypatch):
    """Numbers without a country code take the practice's region, else the deployment's."""
    berlin, vienna = make_practice(), make_practice("Donau Praxis", "Europe/Vienna")
    berlin_owner = make_user(berlin, ["owner", "clinician"])
    vienna_owner = make_user(vienna, ["owner", "clinician"])
    settle()

    def add_client(owner, phone):
        # The same person again each time: registered anyway (duplicates are their own test).
        body = {"first_name": "Ilse", "last_name": "Nordwind", "phone": phone}
        body["allow_duplicate"] = True
        return client.post("/api/v1/clients", json=body, headers=bearer(owner))

    vienna_mobile, berlin_line = "0660 1234567", "030 901820"
    assert_error(add_client(vienna_owner, vienna_mobile), 422)  # no region anywhere: refused
    response = client.patch(URL, json={"phone_region": "at"}, headers=bearer(vienna_owner))
    assert response.status_code == 200 and response.get_json()["phone_region"] == "AT"
    created = add_client(vienna_owner, vienna_mobile)
    assert created.status_code == 201 and created.get_json()["phone"] == "+436601234567"
    assert_error(add_client(berlin_owner, berlin_line), 422)  # the other practice: unchanged
    monkeypatch.setitem(app.config, "PRACTICE_PHONE_REGION", "DE")
    assert add_client(berlin_owner, berlin_line).get_json()["phone"] == "+4930901820"
    # Vienna's own region wins over the deployment's: a Berlin number is not Austrian.
    assert add_client(vienna_owner, vienna_mobile).get_json()["phone"] == "+436601234567"
    cleared = client.patch(URL, json={"phone_region": None}, headers=bearer(vienna_owner))
    assert cleared.status_code == 200 and cleared.get_json()["phone_region"] is None
    assert add_client(vienna_owner, berlin_line).get_json()["phone"] == "+4930901820"


@pytest.mark.parametrize(
    "payload",
    [
        {"require_totp": "yes"},
        {"require_totp": 1},
        {"name": ""},
        {"name": 5},
        {"name": "x" * 100_000},
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": ""},
        {"timezone": 1},
        {"phone_region": "XX"},
        {"phone_region": "Germany"},
        {"phone_region": 49},
        {"phone_region": ""},
        {"id": "00000000-0000-0000-0000-000000000000"},
    ],
)
def test_bad_practice_updates_are_4xx_and_store_nothing(client, payload):
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    settle()
    assert_error(client.patch(URL, json=payload, headers=bearer(owner)), 422)
    db.session.expire_all()
    stored = db.session.get(Practice, practice.id)
    assert stored.name == "Harbour Lane Therapy" and stored.require_totp is False


def test_required_totp_confines_unenrolled_users_to_enrolment(client, clock):
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    clinician = make_user(practice, ["clinician"])
    give_totp(owner, clock)
    settle()
    owner_headers = bearer(owner)
    token_headers = bearer(clinician)
    settle()
    response = client.patch(URL, json={"require_totp": True}, headers=owner_headers)
    assert response.status_code == 200 and response.get_json()["require_totp"] is True

    # The clinician's login succeeds only far enough to enrol.
    result = login(client, clinician)
    assert result.status_code == 200
    assert result.get_json()["totp_enrolment_required"] is True
    headers = {"X-CSRF-Token": result.get_json()["csrf_token"]}
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.get("/api/v1/auth/csrf").status_code == 200
    assert_error(client.get(URL), 403)
    assert_error(client.get("/api/v1/auth/tokens"), 403)
    assert_error(client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=headers), 403)
    # Existing tokens are confined the same way.
    assert_error(client.application.test_client().get(URL, headers=token_headers), 403)

    setup = client.post("/api/v1/auth/totp/setup", headers=headers).get_json()
    code = pyotp.TOTP(setup["secret"]).at(clock.now)
    enabled = client.post(
        "/api/v1/auth/totp/enable", json={"password": PASSWORD, "code": code}, headers=headers
    )
    assert enabled.status_code == 200
    assert client.get(URL).status_code == 200
    # Once enrolled, the factor cannot be turned off while the practice requires it.
    clock.now += 30
    body = assert_error(
        client.post(
            "/api/v1/auth/totp/disable",
            json={
                "password": PASSWORD,
                "code": pyotp.TOTP(setup["secret"]).at(clock.now),
            },
            headers=headers,
        ),
        422,
    )
    assert "requires" in body["errors"]["json"]["code"][0]


def test_logout_works_while_enrolment_is_pending(client, clock):
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    give_totp(owner, clock)
    practice.require_totp = True
    clinician = make_user(practice, ["clinician"])
    settle()
    headers = login_csrf(client, clinician)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert_error(client.get("/api/v1/auth/me"), 401)


def test_owners_move_the_practice_to_another_time_zone(client):
    practice = make_practice()
    owner, clinician = make_user(practice, ["owner"]), make_user(practice, ["clinician"])
    settle()
    moved = client.patch(URL, json={"timezone": "Europe/Lisbon"}, headers=bearer(owner))
    assert moved.status_code == 200 and moved.get_json()["timezone"] == "Europe/Lisbon"
    assert_error(client.patch(URL, json={"timezone": "UTC"}, headers=bearer(clinician)), 403)
    db.session.expire_all()
    assert db.session.get(type(practice), practice.id).timezone == "Europe/Lisbon"
