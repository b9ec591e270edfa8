"""Process notes over HTTP, the writes: drafts, what is stored and answered, If-Match,
signing and addenda."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from practice.notes.models import NoteAddendum, ProcessNote
from tests.factories import make_appointment
from tests.helpers import (
    CANARY,
    assert_error,
    audit_rows,
    auth,
    count,
    new_note,
    put,
    settle,
    signed_note,
)

# --- drafts -----------------------------------------------------------------------


def test_create_draft_returns_version_one_and_is_audited(client, db, team):
    response = client.post(
        f"/api/v1/clients/{team.client.id}/notes",
        json={"session_date": "2026-03-02", "content": {"narrative": {"summary": CANARY}}},
        headers=auth(team.author),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "draft" and body["version"] == 1
    assert body["template_version"] == 1 and body["signed_at"] is None
    assert body["content"] == {"narrative": {"summary": CANARY}}
    assert response.headers["ETag"] == '"1"'
    [row] = audit_rows(action="note.create")
    assert row.object_id == body["id"] and row.actor_id == team.author.id
    stored = db.session.get(ProcessNote, uuid.UUID(body["id"]))
    assert CANARY.encode() not in stored.content


def test_write_responses_show_exactly_what_was_stored(client, db, team):
    """Create and PUT answer with the content they sealed (not decrypted again): it must
    be what a later GET decrypts, normalised ids and dropped nulls included."""
    figures = client.get(f"/api/v1/clients/{team.client.id}/figures", headers=auth(team.author))
    therapist = figures.get_json()["items"][0]["id"]
    content = {
        "relationship_episodes": [
            {"figure_id": therapist.upper(), "when": "in_session", "wish": "to be seen",
             "ro_valence": "negative", "ro_tag": None, "fit": "clear"}
        ],
        "transference": {"present": True, "intensity": 2, "text": "watchful"},
        "defenses": {"observed": ["intellectualization"], "predominant_level": 5},
        "narrative": {"summary": "Quiet start.", "plan": None},
    }  # fmt: skip
    created = new_note(client, team, content)
    url = f"/api/v1/notes/{created['id']}"
    read = client.get(url, headers=auth(team.author)).get_json()
    assert created["content"] == read["content"]
    assert read["content"]["relationship_episodes"][0]["figure_id"] == therapist
    assert "ro_tag" not in read["content"]["relationship_episodes"][0]
    content["narrative"]["summary"] = "Quiet start, then anger."
    updated = put(client, created["id"], team.author, content, '"1"')
    assert updated.status_code == 200
    assert (
        updated.get_json()["content"]
        == client.get(url, headers=auth(team.author)).get_json()["content"]
    )


def test_only_session_date_is_required(client, db, team):
    body = assert_error(
        client.post(f"/api/v1/clients/{team.client.id}/notes", json={}, headers=auth(team.author)),
        422,
    )
    assert "session_date" in body["errors"]["json"]
    note = client.post(
        f"/api/v1/clients/{team.client.id}/notes",
        json={"session_date": "2026-03-02"},
        headers=auth(team.author),
    ).get_json()
    assert note["content"] == {}


def test_ids_of_another_client_are_field_level_422(client, db, team):
    mine = client.get(f"/api/v1/clients/{team.client.id}/figures", headers=auth(team.author))
    therapist = mine.get_json()["items"][0]["id"]
    theirs = client.post(
        f"/api/v1/clients/{team.other_client.id}/figures",
        json={"label": "Sam", "role": "partner"},
        headers=auth(team.author),
    ).get_json()["id"]
    their_script = client.post(
        f"/api/v1/clients/{team.other_client.id}/scripts",
        json={"name": "expects to be dropped"},
        headers=auth(team.author),
    ).get_json()["id"]
    content = {
        "scripts_active": [their_script],
        "relationship_episodes": [{"figure_id": therapist}, {"figure_id": theirs}],
        "transference": {"therapist_experienced_as": str(uuid.uuid4())},
    }
    response = client.post(
        f"/api/v1/clients/{team.client.id}/notes",
        json={"session_date": "2026-03-02", "content": content},
        headers=auth(team.author),
    )
    errors = assert_error(response, 422)["errors"]["json"]["content"]
    assert "figure_id" in errors["relationship_episodes"]["1"]
    assert "0" not in errors["relationship_episodes"]
    assert "0" in errors["scripts_active"]
    assert "therapist_experienced_as" in errors["transference"]
    assert count(ProcessNote) == 0
    assert audit_rows(action="note.create", outcome="failure")


def test_appointment_must_be_the_same_clients_and_only_once(client, db, team):
    def appointment(of_client, hour):
        start = datetime(2026, 3, 2, hour, tzinfo=UTC)
        row = make_appointment(
            of_client, team.author, starts_at=start, minutes=60, status="attended"
        )
        settle()
        return str(row.id)

    theirs = appointment(team.other_client, 9)
    body = {"session_date": "2026-03-02", "appointment_id": theirs}
    url = f"/api/v1/clients/{team.client.id}/notes"
    errors = assert_error(client.post(url, json=body, headers=auth(team.author)), 422)
    assert "appointment_id" in errors["errors"]["json"]
    mine = appointment(team.client, 11)
    note = new_note(client, team, appointment_id=mine)
    assert note["appointment_id"] == mine
    again = client.post(url, json={**body, "appointment_id": mine}, headers=auth(team.author))
    assert_error(again, 409)
    assert count(ProcessNote) == 1


def test_put_needs_current_if_match(client, db, team):
    note = new_note(client, team)
    new = {"narrative": {"plan": "continue"}}
    assert_error(put(client, note["id"], team.author, new), 428)
    assert_error(put(client, note["id"], team.author, new, '"7"'), 412)
    ok = put(client, note["id"], team.author, new, '"1"')
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'
    assert ok.get_json()["content"] == new and ok.get_json()["version"] == 2
    assert_error(put(client, note["id"], team.author, {}, '"1"'), 412)
    assert [r.outcome for r in audit_rows(object_id=note["id"], action="note.update")] == [
        "failure",
        "failure",
        "success",
        "failure",
    ]


def test_get_has_etag_and_is_audited(client, db, team):
    note = new_note(client, team)
    response = client.get(f"/api/v1/notes/{note['id']}", headers=auth(team.author))
    assert response.status_code == 200 and response.headers["ETag"] == '"1"'
    assert response.headers["Cache-Control"] == "no-store"
    assert audit_rows(action="note.read", object_id=note["id"])


# --- signing and addenda ----------------------------------------------------------


def test_sign_locks_the_note_and_addenda_append(client, db, team):
    note = signed_note(client, team)
    assert note["status"] == "signed" and note["signed_at"] and note["version"] == 2
    url = f"/api/v1/notes/{note['id']}"
    assert_error(put(client, note["id"], team.author, {}, '"2"'), 409)
    assert_error(client.post(f"{url}/sign", headers=auth(team.author)), 409)
    response = client.post(f"{url}/addenda", json={"text": CANARY}, headers=auth(team.author))
    assert response.status_code == 201
    [addendum] = response.get_json()["addenda"]
    assert addendum["text"] == CANARY and addendum["author_id"] == str(team.author.id)
    assert addendum["created_at"]
    second = client.post(f"{url}/addenda", json={"text": "second"}, headers=auth(team.author))
    assert [a["text"] for a in second.get_json()["addenda"]] == [CANARY, "second"]
    assert client.get(url, headers=auth(team.author)).get_json()["content"] == {
        "narrative": {"summary": "signed one"}
    }
    stored = db.session.scalars(sa.select(NoteAddendum.text)).all()
    assert all(CANARY.encode() not in blob for blob in stored)
    assert audit_rows(action="note.sign", object_id=note["id"])
    assert len(audit_rows(action="note.addendum", object_id=note["id"])) == 2


def test_addenda_are_for_signed_notes_only(client, db, team):
    note = new_note(client, team)
    url = f"/api/v1/notes/{note['id']}/addenda"
    assert_error(client.post(url, json={"text": "early"}, headers=auth(team.author)), 409)
    assert count(NoteAddendum) == 0


def test_sign_with_stale_if_match_is_412(client, db, team):
    note = new_note(client, team)
    headers = {**auth(team.author), "If-Match": '"5"'}
    assert_error(client.post(f"/api/v1/notes/{note['id']}/sign", headers=headers), 412)
    assert db.session.get(ProcessNote, uuid.UUID(note["id"])).status == "draft"


def test_put_moves_the_session_date_with_the_content(client, db, team):
    """A PUT that corrects the session date stores it (it was once silently dropped)."""
    note = new_note(client, team)
    url = f"/api/v1/notes/{note['id']}"
    headers = {**auth(team.author), "If-Match": '"1"'}
    moved = client.put(url, json={"content": {}, "session_date": "2026-02-23"}, headers=headers)
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert moved.get_json()["session_date"] == "2026-02-23"
    assert client.get(url, headers=auth(team.author)).get_json()["session_date"] == "2026-02-23"
    kept = client.put(url, json={"content": {}}, headers={**auth(team.author), "If-Match": '"2"'})
    assert kept.get_json()["session_date"] == "2026-02-23"  # no date: unchanged
    bad = client.put(
        url, json={"content": {}, "session_date": "23.02.2026"},
        headers={**auth(team.author), "If-Match": '"3"'},
    )  # fmt: skip
    assert_error(bad, 422)
    assert client.get(url, headers=auth(team.author)).get_json()["version"] == 3
