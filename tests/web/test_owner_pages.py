"""The owner's pages: users (temporary password shown once, roles, deactivation that
signs an open browser out, second-factor reset), supervision links, rooms, settings,
the audit log with readable names, filters, paging and the chain's state."""

from __future__ import annotations

import re

import pyotp
import pytest
import sqlalchemy as sa

from practice.audit.models import AuditEntry
from practice.auth import totp
from practice.auth.models import Supervision, User, UserSession
from practice.extensions import db
from practice.scheduling.models import Room
from tests.factories import PASSWORD
from tests.helpers import assert_page, csrf_of, hidden, settle, sign_in


def actions(name: str) -> list[AuditEntry]:
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == name)).all()


def test_creating_a_user_shows_the_temporary_password_once(client, team, app):
    sign_in(client, team.owner)
    token = csrf_of(client)
    assert_page(client.get("/admin/users/new"))
    made = client.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "name": "Nora Fielding",
            "email": "nora.fielding@example.test",
            "roles": ["clinician", "supervisor"],
        },
    )
    text = assert_page(made)
    password = re.search(r'id="temporary-password">([^<]+)<', text).group(1)
    assert len(password) >= 16
    user = db.session.scalar(sa.select(User).where(User.email == "nora.fielding@example.test"))
    assert user.password_reset_required and set(user.roles) == {"clinician", "supervisor"}
    assert password not in assert_page(client.get(f"/admin/users/{user.id}"))
    assert password not in assert_page(client.get("/admin/users"))
    # The new user can sign in with it, and must choose their own password first.
    other = app.test_client()
    page = other.get("/sign-in").get_data(as_text=True)
    signed = other.post(
        "/sign-in",
        data={
            "login_token": hidden(page, "login_token"),
            "email": user.email,
            "password": password,
        },
    )
    assert signed.status_code == 302
    assert other.get("/account/tokens").headers["Location"] == "/account/password"
    assert len(actions("user.temporary_password")) == 1


def test_bad_user_forms_keep_what_was_typed(client, team):
    sign_in(client, team.owner)
    token = csrf_of(client)
    text = assert_page(
        client.post(
            "/admin/users/new",
            data={"csrf_token": token, "name": "Kept Name", "email": "bad", "roles": ["wizard"]},
        ),
        422,
    )
    assert 'id="err-email"' in text and 'id="err-roles"' in text and 'value="Kept Name"' in text
    taken = assert_page(
        client.post(
            "/admin/users/new",
            data={
                "csrf_token": token,
                "name": "Twin",
                "email": team.author.email,
                "roles": ["clinician"],
            },
        ),
        422,
    )
    assert "already exists" in taken and 'id="err-email"' in taken
    empty = assert_page(
        client.post(f"/admin/users/{team.author.id}", data={"csrf_token": token, "name": ""}),
        422,
    )
    assert 'id="err-name"' in empty and 'id="err-roles"' in empty


def test_roles_change_and_the_owner_cannot_lock_themselves_out(client, team):
    sign_in(client, team.owner)
    token = csrf_of(client)
    done = client.post(
        f"/admin/users/{team.supervisor.id}",
        data={"csrf_token": token, "name": "Renamed", "roles": ["clinician"]},
    )
    assert done.status_code == 302
    settle()
    assert db.session.get(User, team.supervisor.id).roles == ["clinician"]
    link = db.session.get(Supervision, team.link.id)
    assert link.ended_at is not None  # the supervisor role went, and its link with it
    own = assert_page(
        client.post(
            f"/admin/users/{team.owner.id}",
            data={"csrf_token": token, "name": "Me", "roles": ["clinician"]},
        ),
        409,
    )
    assert "own owner role" in own
    assert_page(
        client.post(
            f"/admin/users/{team.owner.id}/active", data={"csrf_token": token, "active": "no"}
        ),
        409,
    )
    assert_page(
        client.post(f"/admin/users/{team.author.id}/active", data={"csrf_token": token}), 400
    )


def test_deactivating_signs_an_open_browser_out(client, team, app):
    theirs = app.test_client()
    sign_in(theirs, team.author)
    assert theirs.get("/week").status_code == 200
    sign_in(client, team.owner)
    token = csrf_of(client)
    page = assert_page(client.get(f"/admin/users/{team.author.id}"))
    assert "Deactivate" in page
    done = client.post(
        f"/admin/users/{team.author.id}/active", data={"csrf_token": token, "active": "no"}
    )
    assert done.status_code == 302
    assert "sessions have ended" in assert_page(client.get(done.headers["Location"]))
    settle()
    text = assert_page(theirs.get("/week"), 401)
    assert "signed out" in text
    live = db.session.scalars(
        sa.select(UserSession).where(
            UserSession.user_id == team.author.id, UserSession.ended_at.is_(None)
        )
    ).all()
    assert live == []
    back = client.post(
        f"/admin/users/{team.author.id}/active", data={"csrf_token": token, "active": "yes"}
    )
    assert back.status_code == 302
    settle()
    assert db.session.get(User, team.author.id).active


def test_resetting_a_lost_second_factor(client, team):
    user = team.colleague
    secret, _uri = totp.begin_enrolment(user)
    totp.enable(user, pyotp.TOTP(secret).now())
    settle()
    sign_in(client, team.owner)
    token = csrf_of(client)
    page = assert_page(client.get(f"/admin/users/{user.id}"))
    assert "second factor" in page and 'name="password"' in page and 'name="totp"' not in page
    url = f"/admin/users/{user.id}/two-factor-reset"
    # Recent authentication (SECURITY 30): the owner's own password, 403 when wrong.
    for wrong in ({}, {"password": "not my password"}):
        text = assert_page(client.post(url, data={"csrf_token": token, **wrong}), 403)
        assert 'aria-invalid="true"' in text and "was not reset" in text
    settle()
    assert db.session.get(User, user.id).totp_enabled
    failed = [e for e in actions("user.totp_reset") if e.outcome == "failure"]
    assert len(failed) == 2 and {str(e.object_id) for e in failed} == {str(team.owner.id)}
    done = client.post(url, data={"csrf_token": token, "password": PASSWORD})
    assert done.status_code == 302
    settle()
    assert not db.session.get(User, user.id).totp_enabled
    assert len([e for e in actions("user.totp_reset") if e.outcome == "success"]) == 1
    mine = f"/admin/users/{team.owner.id}/two-factor-reset"
    assert_page(client.post(mine, data={"csrf_token": token, "password": PASSWORD}), 409)


def test_an_owner_with_a_second_factor_resets_with_a_code(client, team):
    owner, user = team.owner, team.colleague
    codes = {}
    for person in (owner, user):
        secret, _uri = totp.begin_enrolment(person)
        codes[person.id] = totp.enable(person, pyotp.TOTP(secret).now())
    settle()
    sign_in(client, owner, code=codes[owner.id][0])  # recovery codes: no clock to wait for
    token = csrf_of(client)
    page = assert_page(client.get(f"/admin/users/{user.id}"))
    assert 'name="totp"' in page
    url = f"/admin/users/{user.id}/two-factor-reset"
    wrong = {"csrf_token": token, "password": PASSWORD, "totp": "000000"}
    assert_page(client.post(url, data=wrong), 403)
    assert_page(client.post(url, data={**wrong, "totp": ""}), 403)
    settle()
    assert db.session.get(User, user.id).totp_enabled
    assert client.post(url, data={**wrong, "totp": codes[owner.id][1]}).status_code == 302
    settle()
    assert not db.session.get(User, user.id).totp_enabled


def test_supervision_links_are_asked_and_take_effect_only_when_accepted(client, team):
    sign_in(client, team.owner)
    token = csrf_of(client)
    page = assert_page(client.get("/admin/supervision"))
    assert "in effect" in page  # the team's accepted link
    asked = client.post(
        "/admin/supervision",
        data={
            "csrf_token": token,
            "supervisor_id": str(team.supervisor.id),
            "clinician_id": str(team.colleague.id),
        },
    )
    assert asked.status_code == 302
    text = assert_page(client.get(asked.headers["Location"]))
    assert "takes effect only when the clinician accepts" in text
    assert "waiting for the clinician" in text
    settle()
    link = db.session.scalar(
        sa.select(Supervision).where(Supervision.supervisee_id == team.colleague.id)
    )
    assert link.accepted_at is None
    bad = assert_page(
        client.post(
            "/admin/supervision",
            data={
                "csrf_token": token,
                "supervisor_id": str(team.scheduler.id),
                "clinician_id": str(team.stranger.id),
            },
        ),
        422,
    )
    assert 'id="err-clinician_id"' in bad
    not_supervisor = assert_page(
        client.post(
            "/admin/supervision",
            data={
                "csrf_token": token,
                "supervisor_id": str(team.scheduler.id),
                "clinician_id": str(team.colleague.id),
            },
        ),
        422,
    )
    assert 'id="err-supervisor_id"' in not_supervisor
    ended = client.post(f"/admin/supervision/{link.id}/end", data={"csrf_token": token})
    assert ended.status_code == 302
    assert_page(client.post(f"/admin/supervision/{link.id}/end", data={"csrf_token": token}), 409)


def test_rooms_are_added_renamed_and_taken_out_of_use(client, team):
    sign_in(client, team.owner)
    token = csrf_of(client)
    assert (
        client.post("/admin/rooms", data={"csrf_token": token, "name": "Garden Room"}).status_code
        == 302
    )
    twin = assert_page(
        client.post("/admin/rooms", data={"csrf_token": token, "name": "garden room"}), 409
    )
    assert "already exists" in twin and 'value="garden room"' in twin
    blank = assert_page(client.post("/admin/rooms", data={"csrf_token": token, "name": "  "}), 422)
    assert 'id="err-name"' in blank
    settle()
    room = db.session.scalar(sa.select(Room).where(Room.name == "Garden Room"))
    renamed = client.post(
        f"/admin/rooms/{room.id}", data={"csrf_token": token, "name": "Blue Room"}
    )
    assert renamed.status_code == 302
    out = client.post(f"/admin/rooms/{room.id}", data={"csrf_token": token, "active": "no"})
    assert out.status_code == 302
    settle()
    room = db.session.get(Room, room.id)
    assert room.name == "Blue Room" and not room.active
    assert "out of use" in assert_page(client.get("/admin/rooms"))


def test_practice_settings(client, team):
    sign_in(client, team.owner)
    token = csrf_of(client)
    page = assert_page(client.get("/admin/practice"))
    assert "Europe/Berlin" in page
    form = {
        "csrf_token": token,
        "name": "Harbour Lane",
        "timezone": "Europe/London",
        "phone_region": "gb",
    }
    assert client.post("/admin/practice", data=form).status_code == 302
    settle()
    practice = db.session.get(type(team.practice), team.practice.id)
    assert (practice.name, practice.timezone, practice.phone_region) == (
        "Harbour Lane",
        "Europe/London",
        "GB",
    )
    bad = {**form, "timezone": "Mars/Olympus", "phone_region": "XX", "require_totp": "yes"}
    text = assert_page(client.post("/admin/practice", data=bad), 422)
    assert 'id="err-timezone"' in text and 'id="err-phone_region"' in text
    totp_first = {**form, "require_totp": "yes"}
    text = assert_page(client.post("/admin/practice", data=totp_first), 422)
    assert 'id="err-require_totp"' in text and "own account first" in text


def test_the_audit_log_page(client, team):
    sign_in(client, team.owner)
    text = assert_page(client.get("/admin/audit"))
    assert re.search(r"Intact, \d+ entr", text), text[:3000]
    assert "Signed in" in text and "auth.login" in text
    assert team.stranger.name not in text
    # A user an entry is about is named beside their id (the owner's sign-in here).
    assert f'user {team.owner.name} <span class="hint">{team.owner.id}</span>' in text
    only = assert_page(
        client.get(f"/admin/audit?action=supervision.request&actor_id={team.owner.id}")
    )
    assert "Supervision requested" in only and "Signed in</td>" not in only
    period = assert_page(client.get("/admin/audit?since=2026-01-01&until=2025-01-01"), 422)
    assert 'id="err-until"' in period
    assert 'id="err-since"' in assert_page(client.get("/admin/audit?since=yesterday"), 422)
    assert_page(client.get("/admin/audit?page=0"), 422)
    assert_page(client.get("/admin/audit?actor_id=nobody"), 422)
    assert "0 entries" in assert_page(client.get("/admin/audit?object_id=none-such"))


def test_the_audit_log_pages_through_entries(client, team):
    sign_in(client, team.owner)
    for _ in range(26):  # two clients listed each time: 52 entries
        assert_page(client.get("/desk/clients"))
    first = assert_page(client.get("/admin/audit?action=client.list"))
    assert "52 entries" in first
    assert "Page 1 of 2" in first and "Older" in first
    second = assert_page(client.get("/admin/audit?action=client.list&page=2"))
    assert "Page 2 of 2" in second and "Newer" in second
    assert second.count("Client shown in a list") == 2 + 1  # two rows and the option


@pytest.mark.parametrize("who", ["scheduler", "author", "supervisor"])
def test_only_owners_see_the_owner_pages(client, team, who):
    sign_in(client, getattr(team, who))
    home = assert_page(client.get("/account"))
    assert "/admin/" not in home
    for url in (
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{team.author.id}",
        "/admin/supervision",
        "/admin/rooms",
        "/admin/practice",
        "/admin/audit",
    ):
        assert "Page not found" in assert_page(client.get(url), 404), url


def test_another_practices_owner_reaches_nothing_of_this_one(client, team):
    sign_in(client, team.stranger)
    token = csrf_of(client)
    assert_page(client.get(f"/admin/users/{team.author.id}"), 404)
    assert_page(
        client.post(
            f"/admin/users/{team.author.id}/active", data={"csrf_token": token, "active": "no"}
        ),
        404,
    )
    assert_page(
        client.post(f"/admin/supervision/{team.link.id}/end", data={"csrf_token": token}), 404
    )
    settle()
    assert db.session.get(User, team.author.id).active


def test_owner_forms_need_the_csrf_token(client, team):
    sign_in(client, team.owner)
    for url, data in (
        ("/admin/users/new", {"name": "X", "email": "x@example.test", "roles": ["clinician"]}),
        (f"/admin/users/{team.author.id}/active", {"active": "no"}),
        (f"/admin/users/{team.author.id}/two-factor-reset", {}),
        ("/admin/supervision", {}),
        ("/admin/rooms", {"name": "Sneaky"}),
        ("/admin/practice", {"name": "Sneaky"}),
    ):
        assert_page(client.post(url, data=data), 403)
    settle()
    assert db.session.get(User, team.author.id).active


def test_a_long_chain_is_checked_when_asked_and_a_broken_one_is_named(client, team, monkeypatch):
    from practice.audit import chain_state
    from tests.audit.tamper import bypass_append_only

    monkeypatch.setattr(chain_state, "AUTO_CHECK_ENTRIES", 0)
    monkeypatch.setattr("practice.web.admin.AUTO_CHECK_ENTRIES", 0)
    sign_in(client, team.owner)
    text = assert_page(client.get("/admin/audit?action=auth.login"))
    assert "not checked on this view" in text and "Check the chain now" in text
    assert 'name="action" value="auth.login"' in text  # the filters are kept
    checked = assert_page(client.get("/admin/audit?action=auth.login&check=1"))
    assert re.search(r"Intact, \d+ entries", checked)
    bypass_append_only(db.session)
    db.session.execute(
        sa.update(AuditEntry)
        .where(AuditEntry.chain_id == team.practice.id, AuditEntry.seq == 2)
        .values(action="auth.logout")
    )
    settle()
    broken = assert_page(client.get("/admin/audit?check=1"))
    assert "Broken at entry 2" in broken, broken[broken.find("Chain:") :][:400]
