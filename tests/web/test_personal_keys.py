"""Everyone's own keys: API tokens (step-up as in the API, the secret shown once, revoke,
expiry and last use) and a clinician's calendar feed link (issue, reissue, stop)."""

from __future__ import annotations

import re

import pyotp
import sqlalchemy as sa

from practice.auth import totp
from practice.auth.models import ApiToken
from practice.extensions import db
from practice.scheduling.models import CalendarFeed
from tests.factories import PASSWORD
from tests.helpers import assert_page, csrf_of, settle, sign_in


def test_a_token_is_created_with_the_password_shown_once_and_revoked(client, team, app):
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    assert "You have no API tokens" in assert_page(client.get("/account/tokens"))
    wrong = assert_page(
        client.post(
            "/account/tokens",
            data={"csrf_token": token, "name": "sync", "password": "not the password"},
        ),
        403,
    )
    assert 'id="err-password"' in wrong and 'value="sync"' in wrong
    made = assert_page(
        client.post(
            "/account/tokens",
            data={"csrf_token": token, "name": "sync", "password": PASSWORD, "expires": ""},
        )
    )
    secret = re.search(r'id="new-secret" class="secret" value="([^"]+)"', made).group(1)
    assert secret.startswith("pt_") and "never" in made
    assert secret not in assert_page(client.get("/account/tokens"))
    api = app.test_client()
    me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    settle()
    listed = assert_page(client.get("/account/tokens"))
    assert "never" not in listed.split("<tbody>")[1].split("</tbody>")[0]  # last use shown
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == team.scheduler.id))
    done = client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": token})
    assert done.status_code == 302
    assert "revoked" in assert_page(client.get(done.headers["Location"]))
    gone = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert gone.status_code == 401


def test_bad_token_forms(client, team):
    sign_in(client, team.author)
    token = csrf_of(client)
    for data, field, code in (
        ({"name": "", "password": PASSWORD}, "name", 422),
        ({"name": "x" * 101, "password": PASSWORD}, "name", 422),
        ({"name": "old", "password": PASSWORD, "expires": "2001-01-01"}, "expires", 422),
        ({"name": "far", "password": PASSWORD, "expires": "2999-01-01"}, "expires", 422),
        ({"name": "what", "password": PASSWORD, "expires": "soon"}, "expires", 422),
    ):
        text = assert_page(client.post("/account/tokens", data={"csrf_token": token, **data}), code)
        assert f'id="err-{field}"' in text, data
    assert_page(client.post("/account/tokens", data={"name": "x", "password": PASSWORD}), 403)
    others = assert_page(
        client.post(f"/account/tokens/{team.link.id}/revoke", data={"csrf_token": token}), 404
    )
    assert "Page not found" in others
    settle()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_a_second_factor_is_asked_too(client, team):
    user = team.colleague
    sign_in(client, user)
    token = csrf_of(client)
    secret, _uri = totp.begin_enrolment(user)
    totp.enable(user, pyotp.TOTP(secret).now())
    settle()
    form = assert_page(client.get("/account/tokens"))
    assert 'name="totp"' in form
    refused = client.post(
        "/account/tokens", data={"csrf_token": token, "name": "sync", "password": PASSWORD}
    )
    assert_page(refused, 403)


def test_the_calendar_feed_link_is_issued_reissued_and_stopped(client, team, app):
    sign_in(client, team.author)
    token = csrf_of(client)
    assert "The feed is off" in assert_page(client.get("/account/calendar"))
    first = assert_page(client.post("/account/calendar", data={"csrf_token": token}))
    url = re.search(r'id="feed-url" class="secret" value="([^"]+)"', first).group(1)
    path = url.split("localhost", 1)[1].replace("&amp;", "&")
    feed = app.test_client()
    assert feed.get(path).status_code == 200
    assert "feed-url" not in assert_page(client.get("/account/calendar"))
    again = assert_page(client.post("/account/calendar", data={"csrf_token": token}))
    assert url not in again
    assert feed.get(path).status_code == 404  # the old link stops working
    stopped = client.post("/account/calendar/stop", data={"csrf_token": token})
    assert stopped.status_code == 302
    settle()
    assert db.session.get(CalendarFeed, team.author.id) is None
    assert_page(client.post("/account/calendar/stop", data={"csrf_token": token}), 409)


def test_only_clinicians_have_a_feed(client, team):
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    assert "calendar" not in assert_page(client.get("/account")).lower()
    assert_page(client.get("/account/calendar"), 404)
    assert_page(client.post("/account/calendar", data={"csrf_token": token}), 404)


def test_personal_forms_need_the_csrf_token(client, team):
    sign_in(client, team.author)
    token = csrf_of(client)
    made = assert_page(
        client.post(
            "/account/tokens", data={"csrf_token": token, "name": "kept", "password": PASSWORD}
        )
    )
    assert "kept" in made
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == team.author.id))
    assert_page(client.post(f"/account/tokens/{row.id}/revoke", data={}), 403)
    assert_page(client.post("/account/calendar", data={}), 403)
    assert_page(client.post("/account/calendar/stop", data={"csrf_token": "forged"}), 403)
    settle()
    assert db.session.get(ApiToken, row.id).revoked_at is None
    assert db.session.get(CalendarFeed, team.author.id) is None
