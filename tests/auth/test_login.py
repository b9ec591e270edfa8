"""Login, logout, me, CSRF and server-side sessions."""

from tests.factories import PASSWORD, make_practice, make_user


def login(client, user, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": user.email, "password": password})


def test_login_me_logout_and_replayed_cookie(client):
    practice = make_practice()
    user = make_user(practice, ["owner", "clinician"])
    response = login(client, user)
    assert response.status_code == 200
    csrf = response.get_json()["csrf_token"]
    cookie = client.get_cookie("practice_session")
    assert cookie is not None
    me = client.get("/api/v1/auth/me").get_json()
    assert me["email"] == user.email
    assert me["practice"]["timezone"] == "Europe/Berlin"
    assert sorted(me["roles"]) == ["clinician", "owner"]
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    # The same cookie, replayed after logout, no longer works.
    client.set_cookie("practice_session", cookie.value)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_same_401_body_for_unknown_user_and_wrong_password(client):
    practice = make_practice()
    user = make_user(practice)
    wrong = login(client, user, "wrong password entirely")
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.test", "password": "whatever it is"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()


def test_cookie_writes_need_csrf_header(client):
    practice = make_practice()
    user = make_user(practice)
    login(client, user)
    response = client.post("/api/v1/auth/logout")
    assert response.status_code == 403
    assert client.get("/api/v1/auth/me").status_code == 200
