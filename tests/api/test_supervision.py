"""SECURITY 29: no administrative path to process notes. A supervision link takes effect
only when the supervised clinician accepts it; they see it and end it; an owner who
re-roles themselves, or creates an account with a password they chose, reads nothing."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from practice.auth.models import Supervision, User
from practice.extensions import db
from tests.factories import PASSWORD, make_client, make_practice, make_user
from tests.helpers import (
    CANARY,
    assert_error,
    audit_rows,
    audit_text,
    auth,
    login,
    login_csrf,
    settle,
)
from tests.themes.factories import episode, make_figure, make_note, make_script

SCRIPT_CANARY = "Pangolin-canary-5120 fears the locked drawer"
OWNER_PASSWORD = "an owner chose this passphrase"
OWN_PASSWORD = "marigold kettle under the stairs"
MINE = "/api/v1/auth/supervision"


class Clinic:
    """An owner (owner only), a clinician with a client, a signed note and a script, a
    supervisor, a colleague, and a user of another practice."""

    def __init__(self):
        self.practice = make_practice()
        self.owner = make_user(self.practice, ["owner"])
        self.author = make_user(self.practice, ["clinician"], name="Ada Authorson")
        self.colleague = make_user(self.practice, ["clinician"])
        self.supervisor = make_user(self.practice, ["supervisor"], name="Sol Supervisorson")
        self.stranger = make_user(make_practice("Far Away"), ["owner", "clinician", "supervisor"])
        self.client = make_client(self.practice, self.author)
        figure = make_figure(self.client, self.author, "Kim", "partner")
        script = make_script(self.client, self.author, SCRIPT_CANARY)
        content = {
            "relationship_episodes": [episode(figure, script)],
            "narrative": {"summary": CANARY},
        }
        self.note = make_note(self.client, self.author, date(2026, 3, 2), content)
        settle()

    def reads(self, http, user) -> dict[str, int]:
        """Status of every clinical read of the author's client, for `user`; asserts no
        clinical text in any refused answer."""
        headers = auth(user)
        base = f"/api/v1/clients/{self.client.id}"
        urls = {
            "note": f"/api/v1/notes/{self.note.id}",
            "notes": f"{base}/notes",
            "themes": f"{base}/themes",
            "themes.csv": f"{base}/themes.csv",
            "scripts": f"{base}/scripts",
            "figures": f"{base}/figures",
        }
        seen = {}
        for name, url in urls.items():
            response = http.get(url, headers=headers)
            body = response.get_data(as_text=True)
            if response.status_code != 200:
                assert CANARY not in body and SCRIPT_CANARY not in body, name
            seen[name] = response.status_code
        return seen

    def link_url(self, supervisor=None) -> str:
        supervisor = supervisor or self.supervisor
        return f"/api/v1/users/{supervisor.id}/supervisees/{self.author.id}"


@pytest.fixture
def clinic():
    return Clinic()


NOTHING = {name: 404 for name in ("note", "notes", "themes", "themes.csv", "scripts", "figures")}
EVERYTHING = {name: 200 for name in NOTHING}


def request_link(client, clinic, supervisor=None) -> dict:
    response = client.post(clinic.link_url(supervisor), headers=auth(clinic.owner))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def answer(client, user, link_id, verb: str):
    return client.post(f"{MINE}/{link_id}/{verb}", headers=auth(user))


def link_history(link_id) -> list[str]:
    """The audited steps of one link (refused attempts on it are access.denied)."""
    rows = audit_rows(object_id=link_id)
    return [row.action for row in rows if row.action.startswith("supervision.")]


def test_owner_granting_themselves_every_role_reads_no_note(client, clinic):
    """Attack path 1: PATCH own roles to owner + clinician + supervisor, link themselves
    to a clinician, read. The link is only a request: nothing answers with text."""
    owner = clinic.owner
    me = f"/api/v1/users/{owner.id}"
    roles = ["owner", "clinician", "supervisor"]
    patched = client.patch(me, json={"roles": roles}, headers=auth(owner))
    assert patched.status_code == 200
    link = request_link(client, clinic, supervisor=owner)
    assert link["status"] == "pending" and link["accepted_at"] is None
    assert clinic.reads(client, owner) == NOTHING
    # Notes follow their author: as a clinician the owner reads only their own notes,
    # even after putting themselves on the client's care team.
    team = {"care_team_ids": [str(owner.id)]}
    joined = client.patch(f"/api/v1/clients/{clinic.client.id}", json=team, headers=auth(owner))
    assert joined.status_code == 200
    assert_error(client.get(f"/api/v1/notes/{clinic.note.id}", headers=auth(owner)), 404)
    listed = client.get(f"/api/v1/clients/{clinic.client.id}/notes", headers=auth(owner))
    assert listed.status_code == 200 and listed.get_json()["items"] == []
    history = client.get(f"/api/v1/clients/{clinic.client.id}/themes", headers=auth(owner))
    assert history.get_json()["sessions"] == 0 and CANARY not in history.get_data(as_text=True)
    actions = [row.action for row in audit_rows(actor_id=owner.id)]
    assert "user.roles_change" in actions and "supervision.request" in actions


def test_owner_created_supervisor_with_a_chosen_password_reads_no_note(app, client, clinic):
    """Attack path 2: the owner creates a supervisor account with a password they chose,
    links it and signs in as it: the password must be changed first, and even then the
    link waits for the clinician."""
    created = client.post(
        "/api/v1/users",
        json={
            "email": "puppet.supervisor@example.test",
            "name": "Puppet Supervisor",
            "roles": ["supervisor"],
            "password": OWNER_PASSWORD,
        },
        headers=auth(clinic.owner),
    )
    assert created.status_code == 201
    puppet = db.session.get(User, uuid.UUID(created.get_json()["id"]))
    link = request_link(client, clinic, supervisor=puppet)
    browser = app.test_client()
    headers = login_csrf(browser, puppet, OWNER_PASSWORD)
    for url in (f"/api/v1/notes/{clinic.note.id}", MINE, f"/api/v1/clients/{clinic.client.id}"):
        refused = assert_error(browser.get(url), 403)
        assert "/api/v1/auth/password" in refused["message"]
    refused = browser.post(f"{MINE}/{link['id']}/accept", headers=headers)
    assert_error(refused, 403)
    changed = browser.post(
        "/api/v1/auth/password",
        json={"current_password": OWNER_PASSWORD, "new_password": OWN_PASSWORD},
        headers=headers,
    )
    assert changed.status_code in (200, 204), changed.get_data(as_text=True)
    base = f"/api/v1/clients/{clinic.client.id}"
    for url in (f"/api/v1/notes/{clinic.note.id}", f"{base}/themes.csv", f"{base}/notes"):
        response = browser.get(url)
        assert response.status_code == 404, url
        assert CANARY not in response.get_data(as_text=True)
    mine = browser.get(MINE).get_json()
    assert [row["status"] for row in mine["supervising"]] == ["pending"]
    # The supervisor cannot accept their own request.
    assert_error(browser.post(f"{MINE}/{link['id']}/accept", headers=headers), 403)
    assert clinic.reads(client, puppet) == NOTHING
    assert ("user.temporary_password", "success") in [
        (row.action, row.outcome) for row in audit_rows(object_id=puppet.id)
    ]


def test_accepted_link_reads_until_the_clinician_ends_it(client, clinic):
    link = request_link(client, clinic)
    assert clinic.reads(client, clinic.supervisor) == NOTHING
    mine = client.get(MINE, headers=auth(clinic.author)).get_json()
    [pending] = mine["supervised_by"]
    assert pending["status"] == "pending" and mine["supervising"] == []
    assert pending["supervisor"]["name"] == "Sol Supervisorson"
    assert pending["supervisor"]["email"] == clinic.supervisor.email
    assert pending["requested_at"] and pending["accepted_at"] is None

    accepted = answer(client, clinic.author, link["id"], "accept")
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "active"
    assert answer(client, clinic.author, link["id"], "accept").status_code == 200  # idempotent
    assert clinic.reads(client, clinic.supervisor) == EVERYTHING
    note = client.get(f"/api/v1/notes/{clinic.note.id}", headers=auth(clinic.supervisor))
    assert CANARY in note.get_data(as_text=True)
    csv = client.get(
        f"/api/v1/clients/{clinic.client.id}/themes.csv", headers=auth(clinic.supervisor)
    )
    assert SCRIPT_CANARY in csv.get_data(as_text=True)
    [active] = client.get(MINE, headers=auth(clinic.author)).get_json()["supervised_by"]
    assert active["status"] == "active" and active["accepted_at"]  # since when
    [theirs] = client.get(MINE, headers=auth(clinic.supervisor)).get_json()["supervising"]
    assert theirs["supervisee"]["name"] == "Ada Authorson"
    assert_error(answer(client, clinic.author, link["id"], "decline"), 409)  # end it instead

    ended = client.delete(f"{MINE}/{link['id']}", headers=auth(clinic.author))
    assert ended.status_code == 204
    assert clinic.reads(client, clinic.supervisor) == NOTHING
    assert client.get(MINE, headers=auth(clinic.author)).get_json()["supervised_by"] == []
    assert_error(client.delete(f"{MINE}/{link['id']}", headers=auth(clinic.author)), 404)
    assert_error(answer(client, clinic.author, link["id"], "accept"), 404)
    stored = db.session.get(Supervision, uuid.UUID(link["id"]))
    assert stored.status == "ended" and stored.ended_by_id == clinic.author.id
    assert link_history(link["id"]) == [
        "supervision.request",
        "supervision.accept",
        "supervision.end",
    ]
    assert CANARY not in audit_text() and SCRIPT_CANARY not in audit_text()


def test_declined_request_never_takes_effect(client, clinic):
    link = request_link(client, clinic)
    declined = answer(client, clinic.author, link["id"], "decline")
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
    assert clinic.reads(client, clinic.supervisor) == NOTHING
    assert_error(answer(client, clinic.author, link["id"], "accept"), 404)
    assert_error(answer(client, clinic.author, link["id"], "decline"), 404)
    assert link_history(link["id"]) == [
        "supervision.request",
        "supervision.decline",
    ]
    again = request_link(client, clinic)  # the owner may ask again: a new request
    assert again["id"] != link["id"] and again["status"] == "pending"
    # Ending a pending request as the clinician is declining it.
    assert client.delete(f"{MINE}/{again['id']}", headers=auth(clinic.author)).status_code == 204
    assert db.session.get(Supervision, uuid.UUID(again["id"])).status == "declined"


def test_only_the_supervised_clinician_answers(client, clinic):
    link = request_link(client, clinic)
    for outsider in (clinic.colleague, clinic.owner, clinic.stranger):
        for verb in ("accept", "decline"):
            assert_error(answer(client, outsider, link["id"], verb), 404)
        assert_error(client.delete(f"{MINE}/{link['id']}", headers=auth(outsider)), 404)
    for verb in ("accept", "decline"):
        refused = assert_error(answer(client, clinic.supervisor, link["id"], verb), 403)
        assert "supervised clinician" in refused["message"]
        assert_error(answer(client, clinic.author, uuid.uuid4(), verb), 404)
        assert_error(client.post(f"{MINE}/not-a-uuid/{verb}", headers=auth(clinic.author)), 404)
    assert db.session.get(Supervision, uuid.UUID(link["id"])).status == "pending"
    assert clinic.reads(client, clinic.supervisor) == NOTHING
    denied = audit_rows(action="access.denied", object_id=link["id"])
    assert {row.actor_id for row in denied} >= {clinic.colleague.id, clinic.supervisor.id}


def test_a_link_of_another_practice_is_404(client, clinic):
    elsewhere = make_practice("Other Shore")
    their_owner = make_user(elsewhere, ["owner"])
    their_supervisor = make_user(elsewhere, ["supervisor"])
    their_clinician = make_user(elsewhere, ["clinician"])
    settle()
    url = f"/api/v1/users/{their_supervisor.id}/supervisees/{their_clinician.id}"
    theirs = client.post(url, headers=auth(their_owner)).get_json()
    for verb in ("accept", "decline"):
        assert_error(answer(client, clinic.author, theirs["id"], verb), 404)
        assert_error(answer(client, clinic.stranger, theirs["id"], verb), 404)
    assert_error(client.delete(f"{MINE}/{theirs['id']}", headers=auth(clinic.author)), 404)
    # The owner's routes: another practice's users are 404 as well.
    owner = auth(clinic.owner)
    cross = f"/api/v1/users/{clinic.supervisor.id}/supervisees/{their_clinician.id}"
    assert_error(client.post(cross, headers=owner), 404)
    assert_error(client.delete(url, headers=owner), 404)
    assert db.session.get(Supervision, uuid.UUID(theirs["id"])).status == "pending"


def test_supervisor_and_owner_end_a_link(client, clinic):
    link = request_link(client, clinic)
    assert answer(client, clinic.author, link["id"], "accept").status_code == 200
    assert clinic.reads(client, clinic.supervisor) == EVERYTHING
    assert client.delete(f"{MINE}/{link['id']}", headers=auth(clinic.supervisor)).status_code == 204
    assert clinic.reads(client, clinic.supervisor) == NOTHING

    second = request_link(client, clinic)
    assert answer(client, clinic.author, second["id"], "accept").status_code == 200
    assert client.delete(clinic.link_url(), headers=auth(clinic.owner)).status_code == 204
    assert clinic.reads(client, clinic.supervisor) == NOTHING
    assert db.session.get(Supervision, uuid.UUID(second["id"])).ended_by_id == clinic.owner.id

    # A withdrawn request cannot be accepted afterwards.
    third = request_link(client, clinic)
    assert (
        client.delete(f"{MINE}/{third['id']}", headers=auth(clinic.supervisor)).status_code == 204
    )
    assert db.session.get(Supervision, uuid.UUID(third["id"])).status == "withdrawn"
    assert_error(answer(client, clinic.author, third["id"], "accept"), 404)
    assert clinic.reads(client, clinic.supervisor) == NOTHING


def test_dropping_a_role_ends_the_links_for_good(client, clinic):
    """A role taken away and granted again does not revive a link: the clinician must
    accept a new one."""
    link = request_link(client, clinic)
    assert answer(client, clinic.author, link["id"], "accept").status_code == 200
    user = f"/api/v1/users/{clinic.supervisor.id}"
    owner = auth(clinic.owner)
    assert client.patch(user, json={"roles": ["clinician"]}, headers=owner).status_code == 200
    assert client.patch(user, json={"roles": ["supervisor"]}, headers=owner).status_code == 200
    assert clinic.reads(client, clinic.supervisor) == NOTHING
    assert db.session.get(Supervision, uuid.UUID(link["id"])).status == "role_removed"

    # The supervisee losing the clinician role ends theirs as well.
    again = request_link(client, clinic)
    author = f"/api/v1/users/{clinic.author.id}"
    assert client.patch(author, json={"roles": ["scheduler"]}, headers=owner).status_code == 200
    assert db.session.get(Supervision, uuid.UUID(again["id"])).status == "role_removed"
    assert link_history(again["id"]) == ["supervision.request", "supervision.end"]


def test_an_unchanged_role_list_is_no_role_change(client, clinic):
    user = f"/api/v1/users/{clinic.supervisor.id}"
    owner = auth(clinic.owner)
    assert client.patch(user, json={"roles": ["supervisor"]}, headers=owner).status_code == 200
    assert audit_rows(action="user.roles_change") == []


def test_a_forced_password_change_is_needed_only_once(app, clinic):
    """A user whose password an owner set signs in, chooses their own, and from then on
    signs in normally."""
    browser = app.test_client()
    db.session.get(User, clinic.colleague.id).password_reset_required = True
    settle()
    headers = login_csrf(browser, clinic.colleague)
    assert_error(browser.get(MINE), 403)
    changed = browser.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": OWN_PASSWORD},
        headers=headers,
    )
    assert changed.status_code in (200, 204), changed.get_data(as_text=True)
    fresh = app.test_client()
    assert login(fresh, clinic.colleague, OWN_PASSWORD).status_code == 200
    assert fresh.get(MINE).status_code == 200


def test_links_listed_are_only_the_callers(client, clinic):
    request_link(client, clinic)
    assert client.get(MINE, headers=auth(clinic.colleague)).get_json() == {
        "supervised_by": [],
        "supervising": [],
    }
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Supervision))
    assert count == 1
