"""Process notes over HTTP, who may read them: author, supervisor while linked, nobody
else; lists follow the author."""

from __future__ import annotations

import pytest

from practice.notes.models import NoteAddendum
from tests.factories import end_supervision
from tests.helpers import (
    assert_error,
    audit_rows,
    auth,
    count,
    new_note,
    put,
    settle,
    signed_note,
)

# --- access -----------------------------------------------------------------------

OUTSIDERS = ("owner", "scheduler", "co_clinician", "colleague", "stranger")


@pytest.mark.parametrize("who", OUTSIDERS)
def test_nobody_but_author_and_supervisor_sees_a_note(client, db, team, who):
    note = signed_note(client, team)
    user = getattr(team, who)
    url = f"/api/v1/notes/{note['id']}"
    for response in (
        client.get(url, headers=auth(user)),
        put(client, note["id"], user, {}, '"2"'),
        client.post(f"{url}/sign", headers={**auth(user), "If-Match": '"2"'}),
        client.post(f"{url}/addenda", json={"text": "x"}, headers=auth(user)),
    ):
        body = assert_error(response, 404)
        assert "signed one" not in response.get_data(as_text=True)
        assert "content" not in body
    listing = client.get(f"/api/v1/clients/{team.client.id}/notes", headers=auth(user))
    if who == "co_clinician":  # assigned, but not the author: an empty list
        assert listing.status_code == 200 and listing.get_json()["items"] == []
    else:
        assert_error(listing, 404)
    assert len(audit_rows(action="access.denied", actor_id=user.id)) >= 4
    assert count(NoteAddendum) == 0


def test_supervisor_reads_only_while_linked(client, db, team):
    note = signed_note(client, team)
    url = f"/api/v1/notes/{note['id']}"
    sup = auth(team.supervisor)
    assert client.get(url, headers=sup).get_json()["content"] == note["content"]
    listing = client.get(f"/api/v1/clients/{team.client.id}/notes", headers=sup).get_json()
    assert [n["id"] for n in listing["items"]] == [note["id"]]
    assert_error(client.post(f"{url}/addenda", json={"text": "x"}, headers=sup), 403)
    assert_error(client.post(f"{url}/sign", headers=sup), 403)
    assert_error(put(client, note["id"], team.supervisor, {}, '"2"'), 403)
    assert_error(
        client.post(
            f"/api/v1/clients/{team.client.id}/notes",
            json={"session_date": "2026-03-03"},
            headers=sup,
        ),
        403,
    )
    end_supervision(team.supervisor, team.author)
    settle()
    assert_error(client.get(url, headers=sup), 404)
    assert_error(client.get(f"/api/v1/clients/{team.client.id}/notes", headers=sup), 404)


def test_list_follows_the_author_when_the_client_changes_hands(client, db, team):
    """A handed-over client: the author and their supervisor still list the author's
    notes (as they read each one by id); the new clinician lists only their own, and
    colleagues still get 404."""
    note = signed_note(client, team)
    team.client.primary_clinician_id = team.colleague.id
    settle()
    url = f"/api/v1/clients/{team.client.id}/notes"
    for reader in (team.author, team.supervisor):
        listing = client.get(url, headers=auth(reader))
        assert [n["id"] for n in listing.get_json()["items"]] == [note["id"]], reader
    assert client.get(url, headers=auth(team.colleague)).get_json()["items"] == []
    # The theme history belongs to the client's current care (tests/api/test_themes.py).
    themes = client.get(f"/api/v1/clients/{team.client.id}/themes", headers=auth(team.supervisor))
    assert themes.status_code == 404
    assert_error(client.get(url, headers=auth(team.scheduler)), 404)
    assert_error(client.get(f"/api/v1/clients/{team.other_client.id}/notes",
                            headers=auth(team.colleague)), 404)  # fmt: skip


def test_list_is_paginated_by_session_date(client, db, team):
    for day in ("2026-03-16", "2026-03-02", "2026-03-09"):
        new_note(client, team, session_date=day)
    url = f"/api/v1/clients/{team.client.id}/notes"
    page = client.get(f"{url}?page_size=2", headers=auth(team.author)).get_json()
    assert page["total"] == 3 and page["page_size"] == 2
    assert [n["session_date"] for n in page["items"]] == ["2026-03-02", "2026-03-09"]
    last = client.get(f"{url}?order=desc&page_size=1", headers=auth(team.author)).get_json()
    assert last["items"][0]["session_date"] == "2026-03-16"
    ranged = client.get(f"{url}?from=2026-03-05&to=2026-03-10", headers=auth(team.author))
    assert [n["session_date"] for n in ranged.get_json()["items"]] == ["2026-03-09"]
    assert len(audit_rows(action="note.read")) == 4  # one per note returned
    assert_error(client.get(f"{url}?page_size=500", headers=auth(team.author)), 422)
