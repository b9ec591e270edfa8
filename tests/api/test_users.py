"""Users API (owners): create, list, read, update, deactivate, supervision links."""

import uuid

import pytest
import sqlalchemy as sa

from practice.auth.models import Supervision, User
from practice.extensions import db
from tests.factories import PASSWORD, bearer, make_practice, make_user
from tests.helpers import assert_error, audit_actions, count, login, settle

URL = "/api/v1/users"
NEW_PASSWORD = "heron willow tangerine dusk"


def new_user(**overrides):
    body = {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.test",
        "name": "Merriweather Fenwick",
        "roles": ["clinician"],
        "password": NEW_PASSWORD,
    }
    body.update(overrides)
    return body


@pytest.fixture
def owner():
    practice = make_practice()
    user = make_user(practice, ["owner"])
    settle()
    return user


def test_create_read_and_log_in(client, owner):
    headers = bearer(owner)
    settle()
    body = new_user(roles=["owner", "clinician"], email="  Solo.Therapist@Example.TEST ")
    created = client.post(URL, json=body, headers=headers)
    assert created.status_code == 201
    data = created.get_json()
    assert data["email"] == "solo.therapist@example.test"
    assert sorted(data["roles"]) == ["clinician", "owner"] and data["active"] is True
    assert "password" not in data and "password_hash" not in data
    read = client.get(f"{URL}/{data['id']}", headers=headers).get_json()
    assert read == data
    fresh = client.application.test_client()
    signed_in = login(fresh, User(email=data["email"]), NEW_PASSWORD)
    assert signed_in.status_code == 200
    # The owner chose this password: the user must choose their own first.
    assert signed_in.get_json()["user"]["password_reset_required"] is True
    assert ("user.create", "success") in audit_actions(object_id=data["id"])
    assert ("user.temporary_password", "success") in audit_actions(object_id=data["id"])


def test_create_refuses_weak_password_and_duplicate_email(client, owner):
    headers = bearer(owner)
    settle()
    before = count(User)
    weak = assert_error(
        client.post(URL, json=new_user(password="password1234"), headers=headers), 422
    )
    assert "common" in weak["errors"]["json"]["password"][0]
    dup = assert_error(
        client.post(URL, json=new_user(email=owner.email.upper()), headers=headers), 422
    )
    assert "email" in dup["errors"]["json"]
    assert count(User) == before


def test_list_filters_and_pagination(client, owner):
    practice = owner.practice
    make_user(practice, ["clinician"])
    make_user(practice, ["clinician", "supervisor"])
    make_user(practice, ["scheduler"])
    gone = make_user(practice, ["clinician"])
    gone.active = False
    make_user(make_practice("Other Rooms"), ["clinician"])
    settle()
    headers = bearer(owner)
    settle()
    everyone = client.get(URL, headers=headers).get_json()
    assert everyone["total"] == 5
    clinicians = client.get(f"{URL}?role=clinician", headers=headers).get_json()
    assert clinicians["total"] == 3
    assert all("clinician" in u["roles"] for u in clinicians["items"])
    active = client.get(f"{URL}?role=clinician&active=true", headers=headers).get_json()
    assert active["total"] == 2
    inactive = client.get(f"{URL}?active=false", headers=headers).get_json()
    assert [u["id"] for u in inactive["items"]] == [str(gone.id)]
    page = client.get(f"{URL}?page=2&page_size=2", headers=headers).get_json()
    assert page["total"] == 5 and len(page["items"]) == 2
    for bad in ("role=admin", "active=maybe", "page=0", "page_size=201", "page=abc"):
        assert_error(client.get(f"{URL}?{bad}", headers=headers), 422)


def test_update_name_and_roles(client, owner):
    user = make_user(owner.practice, ["clinician"])
    settle()
    response = client.patch(
        f"{URL}/{user.id}",
        json={"name": "Wilhelmina Ashdown", "roles": ["clinician", "supervisor"]},
        headers=bearer(owner),
    )
    assert response.status_code == 200
    assert response.get_json()["name"] == "Wilhelmina Ashdown"
    assert sorted(response.get_json()["roles"]) == ["clinician", "supervisor"]
    assert ("user.update", "success") in audit_actions(object_id=str(user.id))


def test_deactivation_ends_sessions_and_tokens_at_once(client, owner, app):
    user = make_user(owner.practice, ["clinician"])
    token_headers = bearer(user)
    settle()
    browser = app.test_client()
    login(browser, user)
    assert browser.get("/api/v1/auth/me").status_code == 200
    response = client.patch(f"{URL}/{user.id}", json={"active": False}, headers=bearer(owner))
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert_error(browser.get("/api/v1/auth/me"), 401)
    assert_error(app.test_client().get("/api/v1/auth/me", headers=token_headers), 401)
    assert_error(login(app.test_client(), user), 401)
    assert ("user.deactivate", "success") in audit_actions(object_id=str(user.id))
    # Reactivation lets them log in again but does not revive the old token.
    client.patch(f"{URL}/{user.id}", json={"active": True}, headers=bearer(owner))
    assert login(app.test_client(), user).status_code == 200
    assert_error(app.test_client().get("/api/v1/auth/me", headers=token_headers), 401)


def test_owner_cannot_lock_themselves_out(client, owner):
    headers = bearer(owner)
    settle()
    assert_error(client.patch(f"{URL}/{owner.id}", json={"active": False}, headers=headers), 409)
    assert_error(
        client.patch(f"{URL}/{owner.id}", json={"roles": ["clinician"]}, headers=headers), 409
    )


@pytest.mark.parametrize("roles", [["clinician"], ["scheduler"], ["supervisor", "clinician"]])
def test_non_owners_get_403_and_it_is_audited(client, owner, roles):
    caller = make_user(owner.practice, roles)
    target = make_user(owner.practice, ["clinician"])
    settle()
    headers = bearer(caller)
    settle()
    before = count(User)
    calls = [
        client.get(URL, headers=headers),
        client.post(URL, json=new_user(), headers=headers),
        client.get(f"{URL}/{target.id}", headers=headers),
        client.patch(f"{URL}/{target.id}", json={"active": False}, headers=headers),
        client.post(f"{URL}/{target.id}/supervisees/{target.id}", headers=headers),
    ]
    for response in calls:
        assert_error(response, 403)
    assert count(User) == before
    denied = [a for a in audit_actions(actor_id=caller.id) if a == ("access.denied", "denied")]
    assert len(denied) == len(calls)
    assert_error(client.application.test_client().get(URL), 401)


def test_other_practices_users_are_404(client, owner):
    stranger = make_user(make_practice("Across Town"), ["clinician", "supervisor"])
    settle()
    headers = bearer(owner)
    settle()
    assert_error(client.get(f"{URL}/{stranger.id}", headers=headers), 404)
    assert_error(client.patch(f"{URL}/{stranger.id}", json={"name": "X"}, headers=headers), 404)
    assert_error(client.get(f"{URL}/{uuid.uuid4()}", headers=headers), 404)
    db.session.expire_all()
    assert db.session.get(User, stranger.id).name != "X"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"email": "not-an-email", "name": "A", "roles": ["clinician"], "password": NEW_PASSWORD},
        {"name": "A", "roles": ["clinician"], "password": NEW_PASSWORD},
        {"email": 5, "name": "A", "roles": ["clinician"], "password": NEW_PASSWORD},
        {"email": "x@example.test", "name": "A", "roles": "owner", "password": NEW_PASSWORD},
        {"email": "x@example.test", "name": "A", "roles": [], "password": NEW_PASSWORD},
        {"email": "x@example.test", "name": "A", "roles": ["admin"], "password": NEW_PASSWORD},
        {
            "email": "x@example.test",
            "name": "x" * 100_000,
            "roles": ["clinician"],
            "password": NEW_PASSWORD,
        },
        {"email": "x@example.test", "name": "A", "roles": ["clinician"], "password": "x" * 100_000},
        {
            "email": "x@example.test",
            "name": "A",
            "roles": ["clinician"],
            "password": NEW_PASSWORD,
            "active": True,
        },
        {
            "email": "'; DROP TABLE users; --@example.test",
            "name": "A",
            "roles": ["clinician"],
            "password": NEW_PASSWORD,
        },
        {"email": "x@example.test", "name": "", "roles": ["clinician"], "password": NEW_PASSWORD},
    ],
)
def test_bad_create_input_is_422_and_stores_nothing(client, owner, payload):
    before = count(User)
    assert_error(client.post(URL, json=payload, headers=bearer(owner)), 422)
    assert count(User) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"active": "false"},
        {"active": 0},
        {"roles": ["owner", "wizard"]},
        {"roles": []},
        {"name": None},
        {"name": "x" * 100_000},
        {"email": "changed@example.test"},
        {"password": NEW_PASSWORD},
    ],
)
def test_bad_update_input_is_422_and_changes_nothing(client, owner, payload):
    user = make_user(owner.practice, ["clinician"])
    settle()
    before = (user.name, user.role_names, user.active, user.email)
    assert_error(client.patch(f"{URL}/{user.id}", json=payload, headers=bearer(owner)), 422)
    db.session.expire_all()
    after = db.session.get(User, user.id)
    assert (after.name, after.role_names, after.active, after.email) == before


def test_unicode_and_sql_looking_names_are_stored_verbatim(client, owner):
    for name in ("Zoë Ōkawa-SStrand 李", "Robert'); DROP TABLE users;--"):
        created = client.post(URL, json=new_user(name=name), headers=bearer(owner))
        assert created.status_code == 201 and created.get_json()["name"] == name


@pytest.mark.parametrize("bad", ["not-a-uuid", "1' OR '1'='1", "12345"])
def test_non_uuid_ids_are_404(client, owner, bad):
    headers = bearer(owner)
    settle()
    assert_error(client.get(f"{URL}/{bad}", headers=headers), 404)
    assert_error(client.patch(f"{URL}/{bad}", json={"name": "A"}, headers=headers), 404)
    assert_error(client.post(f"{URL}/{bad}/supervisees/{owner.id}", headers=headers), 404)


def _links(supervisor, clinician):
    db.session.expire_all()
    return db.session.scalars(
        sa.select(Supervision).where(
            Supervision.supervisor_id == supervisor.id, Supervision.supervisee_id == clinician.id
        )
    ).all()


def test_supervision_links(client, owner):
    practice = owner.practice
    supervisor = make_user(practice, ["supervisor", "clinician"])
    clinician = make_user(practice, ["clinician"])
    scheduler = make_user(practice, ["scheduler"])
    settle()
    headers = bearer(owner)
    settle()
    link = f"{URL}/{supervisor.id}/supervisees/{clinician.id}"
    created = client.post(link, headers=headers)
    assert created.status_code == 201
    assert created.get_json()["status"] == "pending"  # a request, until the clinician accepts
    again = client.post(link, headers=headers)
    assert again.status_code == 200 and again.get_json() == created.get_json()  # idempotent
    assert len([s for s in _links(supervisor, clinician) if s.ended_at is None]) == 1
    assert client.delete(link, headers=headers).status_code == 204
    assert [s.status for s in _links(supervisor, clinician)] == ["withdrawn"]
    assert_error(client.delete(link, headers=headers), 404)
    actions = [a for a, _ in audit_actions(actor_id=owner.id)]
    assert "supervision.request" in actions and "supervision.end" in actions

    not_supervisor = assert_error(
        client.post(f"{URL}/{clinician.id}/supervisees/{supervisor.id}", headers=headers), 422
    )
    assert "supervisor" in not_supervisor["errors"]["json"]
    assert_error(
        client.post(f"{URL}/{supervisor.id}/supervisees/{scheduler.id}", headers=headers), 422
    )
    same = assert_error(
        client.post(f"{URL}/{supervisor.id}/supervisees/{supervisor.id}", headers=headers), 422
    )
    assert "themselves" in same["errors"]["json"]["clinician_id"][0]
    stranger = make_user(make_practice("Far Away"), ["clinician"])
    settle()
    assert_error(
        client.post(f"{URL}/{supervisor.id}/supervisees/{stranger.id}", headers=headers), 404
    )
    assert _links(supervisor, stranger) == []


def test_password_is_never_returned(client, owner):
    body = client.get(URL, headers=bearer(owner)).get_data(as_text=True)
    assert "argon2" not in body and PASSWORD not in body and "totp_secret" not in body
