"""Scripts over HTTP: versions and If-Match, status, merging, access, bad input."""

from __future__ import annotations

import uuid

import pytest

from practice.notes.models import Script
from tests.factories import end_supervision
from tests.helpers import CANARY, assert_error, audit_rows, auth, count, settle


def url(team, client=None) -> str:
    return f"/api/v1/clients/{(client or team.client).id}/scripts"


def add(client, team, client_row=None, **body):
    body = {"name": "sets others up to criticise her", **body}
    response = client.post(url(team, client_row), json=body, headers=auth(team.author))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def patch(client, team, script_id, body, if_match=None, user=None):
    headers = dict(auth(user or team.author))
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.patch(f"{url(team)}/{script_id}", json=body, headers=headers)


def test_create_read_and_patch_with_if_match(client, db, team):
    full = {
        "name": CANARY,
        "wish": "to be admired",
        "response_of_other": "others criticise",
        "response_of_self": "gives up",
        "origin": "critical father",
        "wish_tag": "recognition",
        "cmp": {"acts_of_self": "hides work", "acts_of_self_toward_self": "self-critical"},
    }
    script = add(client, team, **full)
    assert script["status"] == "hypothesis" and script["version"] == 1
    assert {k: script[k] for k in full} == full
    stored = db.session.get(Script, uuid.UUID(script["id"]))
    assert CANARY.encode() not in stored.payload
    got = client.get(f"{url(team)}/{script['id']}", headers=auth(team.author))
    assert got.headers["ETag"] == '"1"' and got.get_json()["name"] == CANARY
    assert_error(patch(client, team, script["id"], {"status": "working"}), 428)
    assert_error(patch(client, team, script["id"], {"status": "working"}, '"9"'), 412)
    ok = patch(client, team, script["id"], {"status": "focal", "origin": None}, '"1"')
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    body = ok.get_json()
    assert body["status"] == "focal" and "origin" not in body and body["wish"] == "to be admired"
    assert_error(patch(client, team, script["id"], {"status": "working"}, '"1"'), 412)
    assert audit_rows(action="script.read", object_id=script["id"])
    assert [r.outcome for r in audit_rows(action="script.update")] == [
        "failure",
        "failure",
        "success",
        "failure",
    ]


def matched(user, version: int = 1) -> dict:
    """`user`'s headers with If-Match naming `version`."""
    return {**auth(user), "If-Match": f'"{version}"'}


def test_merge_points_to_the_survivor_and_resolves_chains(client, db, team):
    a, b, c = (add(client, team, name=n) for n in ("a", "b", "c"))
    merge = f"{url(team)}/{a['id']}/merge"
    response = client.post(merge, json={"into_script_id": b["id"]}, headers=matched(team.author))
    assert response.status_code == 200 and response.get_json()["merged_into_id"] == b["id"]
    assert response.get_json()["version"] == 2 and response.headers["ETag"] == '"2"'
    response = client.post(
        f"{url(team)}/{b['id']}/merge",
        json={"into_script_id": c["id"]},
        headers=matched(team.author),
    )
    assert response.get_json()["merged_into_id"] == c["id"]
    again = client.get(f"{url(team)}/{a['id']}", headers=auth(team.author)).get_json()
    assert again["merged_into_id"] == c["id"]  # the chain is folded into the survivor
    assert_error(
        client.post(merge, json={"into_script_id": c["id"]}, headers=matched(team.author, 2)), 409
    )
    assert_error(patch(client, team, a["id"], {"name": "x"}, '"2"'), 409)
    listed = client.get(url(team), headers=auth(team.author)).get_json()
    assert [s["id"] for s in listed["items"]] == [c["id"]]
    everything = client.get(f"{url(team)}?include_merged=true", headers=auth(team.author))
    assert everything.get_json()["total"] == 3
    assert audit_rows(action="script.merge", object_id=a["id"])


def test_merge_refusals(client, db, team):
    a, b = add(client, team, name="a"), add(client, team, name="b")
    theirs = add(client, team, team.other_client, name="theirs")
    for target in (a["id"], theirs["id"], str(uuid.uuid4())):
        response = client.post(
            f"{url(team)}/{a['id']}/merge",
            json={"into_script_id": target},
            headers=matched(team.author),
        )
        assert "into_script_id" in assert_error(response, 422)["errors"]["json"]
    client.post(
        f"{url(team)}/{b['id']}/merge",
        json={"into_script_id": a["id"]},
        headers=matched(team.author),
    )
    circular = client.post(
        f"{url(team)}/{a['id']}/merge",
        json={"into_script_id": b["id"]},
        headers=matched(team.author),
    )
    assert_error(circular, 422)  # b now resolves to a itself
    for body in ({}, {"into_script_id": "nope"}, {"into_script_id": b["id"], "x": 1}):
        assert_error(
            client.post(f"{url(team)}/{a['id']}/merge", json=body, headers=auth(team.author)), 422
        )
    assert db.session.get(Script, uuid.UUID(a["id"])).merged_into_id is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 201},
        {"name": "n", "wish": "w" * 2001},
        {"name": "n", "status": "abandoned"},
        {"name": "n", "cmp": {"feelings": "x"}},
        {"name": "n", "cmp": "acts"},
        {"name": 7},
        {"name": "n", "merged_into_id": str(uuid.uuid4())},
        {"name": "n", "version": 5},
        {"name": "n", "wish_tag": "t" * 101},
    ],
)
def test_bad_script_bodies_are_422_and_store_nothing(client, db, team, body):
    assert_error(client.post(url(team), json=body, headers=auth(team.author)), 422)
    assert count(Script) == 0


def test_sql_looking_and_unicode_words_are_kept(client, team):
    name = "'; DROP TABLE scripts; -- 心の台本 🎭"
    assert add(client, team, name=name)["name"] == name


@pytest.mark.parametrize("who", ["owner", "scheduler", "colleague", "stranger"])
def test_outsiders_get_404_and_no_words(client, db, team, who):
    script = add(client, team, name=CANARY)
    user = getattr(team, who)
    item = f"{url(team)}/{script['id']}"
    for response in (
        client.get(url(team), headers=auth(user)),
        client.get(item, headers=auth(user)),
        client.post(url(team), json={"name": "x"}, headers=auth(user)),
        patch(client, team, script["id"], {"name": "x"}, '"1"', user=user),
        client.post(f"{item}/merge", json={"into_script_id": script["id"]}, headers=matched(user)),
    ):
        assert_error(response, 404)
        assert CANARY not in response.get_data(as_text=True)
    assert len(audit_rows(action="access.denied", actor_id=user.id)) == 5


def test_supervisor_reads_only_and_loses_access_with_the_link(client, db, team):
    script = add(client, team)
    item = f"{url(team)}/{script['id']}"
    assert client.get(item, headers=auth(team.supervisor)).status_code == 200
    assert_error(patch(client, team, script["id"], {"name": "x"}, '"1"', user=team.supervisor), 403)
    assert_error(client.post(url(team), json={"name": "x"}, headers=auth(team.supervisor)), 403)
    end_supervision(team.supervisor, team.author)
    settle()
    assert_error(client.get(item, headers=auth(team.supervisor)), 404)


def test_wrong_client_in_path_and_non_uuid_are_404(client, team):
    script = add(client, team)
    other = f"{url(team, team.other_client)}/{script['id']}"
    assert_error(client.get(other, headers=auth(team.author)), 404)
    assert_error(client.get(f"{url(team)}/1%20OR%201=1", headers=auth(team.author)), 404)
    assert_error(client.get(f"{url(team, team.foreign_client)}", headers=auth(team.author)), 404)
