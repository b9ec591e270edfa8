"""Process notes over HTTP, bad input and the audit: refused at their field, nothing
stored, one complete audit entry per request, never clinical text."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from practice.notes.models import NoteAddendum, ProcessNote
from tests.helpers import (
    CANARY,
    SECOND_CANARY,
    assert_error,
    audit_rows,
    auth,
    count,
    new_note,
    put,
    signed_note,
)

# --- bad input --------------------------------------------------------------------


def bad_body(body, path: tuple, status: int = 422, *, name: str):
    """A create body that must be refused with `status` and one error at `path` of
    `errors.json` (JSON keys: list indexes are strings)."""
    return pytest.param(body, status, path, id=name)


BAD_BODIES = [
    bad_body({"session_date": 20260302}, ("session_date",), name="date-as-number"),
    bad_body({"session_date": "yesterday"}, ("session_date",), name="date-as-word"),
    bad_body({"session_date": "3026-03-02"}, ("session_date",), name="date-far-future"),
    bad_body(
        {"session_date": "2026-03-02", "content": "free text"},
        ("content", "_schema"),
        name="content-not-an-object",
    ),
    bad_body(
        {"session_date": "2026-03-02", "author_id": str(uuid.uuid4())},
        ("author_id",),
        name="unknown-top-level-field",
    ),
    bad_body(
        {"session_date": "2026-03-02", "content": {"narrative": {"summary": "x" * 30_000}}},
        ("content", "narrative", "summary"),
        name="summary-too-long",
    ),
    bad_body(
        {"session_date": "2026-03-02", "content": {"ipt_focus": "'; DROP TABLE process_notes; --"}},
        ("content", "ipt_focus"),
        name="sql-as-enum-value",
    ),
    bad_body(
        {"session_date": "2026-03-02", "appointment_id": "1 OR 1=1"},
        ("appointment_id",),
        name="appointment-id-not-a-uuid",
    ),
    bad_body(
        {"session_date": "2026-03-02", "appointment_id": str(uuid.uuid4())},
        ("appointment_id",),
        name="appointment-id-unknown",
    ),
    bad_body(
        {"session_date": "2026-03-02", "content": {"relationship_episodes": [{"figure_id": 5}]}},
        ("content", "relationship_episodes", "0", "figure_id"),
        name="figure-id-a-number",
    ),
    bad_body([], ("_schema",), name="body-a-list"),
]


@pytest.mark.parametrize(("body", "status", "path"), BAD_BODIES)
def test_bad_create_bodies_are_refused_at_their_field_and_store_nothing(
    client, db, team, body, status, path
):
    response = client.post(
        f"/api/v1/clients/{team.client.id}/notes", json=body, headers=auth(team.author)
    )
    node = assert_error(response, status)["errors"]["json"]
    for key in path:  # exactly one error, at `path`
        assert list(node) == [key], (path, node)
        node = node[key]
    assert node and all(isinstance(message, str) and message for message in node), node
    assert count(ProcessNote) == 0


def test_unicode_and_sql_looking_text_is_kept_verbatim(client, db, team):
    text = "Ünïcødé 😶‍🌫️ 私は '; DROP TABLE process_notes; -- \u202e"
    note = new_note(client, team, {"narrative": {"summary": text}})
    got = client.get(f"/api/v1/notes/{note['id']}", headers=auth(team.author)).get_json()
    assert got["content"]["narrative"]["summary"] == text


@pytest.mark.parametrize("bad", ["not-a-uuid", "1' OR '1'='1", "%00"])
def test_non_uuid_ids_are_404(client, team, bad):
    assert_error(client.get(f"/api/v1/notes/{bad}", headers=auth(team.author)), 404)
    assert_error(client.get(f"/api/v1/clients/{bad}/notes", headers=auth(team.author)), 404)


def test_other_practices_client_and_unknown_ids_are_404(client, db, team):
    url = f"/api/v1/clients/{team.foreign_client.id}/notes"
    body = {"session_date": "2026-03-02"}
    assert_error(client.post(url, json=body, headers=auth(team.author)), 404)
    assert_error(client.get(f"/api/v1/notes/{uuid.uuid4()}", headers=auth(team.author)), 404)
    assert count(ProcessNote) == 0


def test_put_and_addenda_bad_bodies(client, db, team):
    note = new_note(client, team)
    url = f"/api/v1/notes/{note['id']}"
    headers = {**auth(team.author), "If-Match": '"1"'}
    for body in ({}, {"content": {"x": 1}}, {"content": [], "extra": 1}):
        assert_error(client.put(url, json=body, headers=headers), 422)
    assert client.get(url, headers=auth(team.author)).get_json()["version"] == 1
    signed = signed_note(client, team)
    add = f"/api/v1/notes/{signed['id']}/addenda"
    for body in ({}, {"text": ""}, {"text": 5}, {"text": "x" * 20_001}, {"text": "a", "b": 1}):
        assert_error(client.post(add, json=body, headers=auth(team.author)), 422)
    assert count(NoteAddendum) == 0


def test_anonymous_is_401(client, team):
    assert_error(client.get(f"/api/v1/clients/{team.client.id}/notes"), 401)


def test_audit_never_holds_clinical_text(client, db, team):
    note = new_note(client, team, {"narrative": {"summary": CANARY}})
    put(client, note["id"], team.author, {"narrative": {"plan": CANARY}}, '"1"')
    put(client, note["id"], team.colleague, {"narrative": {"plan": CANARY}}, '"2"')
    for row in audit_rows():
        assert CANARY not in " ".join(str(v) for v in vars(row).values())


def test_each_note_request_leaves_exactly_one_complete_audit_entry(client, db, team):
    """SECURITY 22: a read, a sign, an addendum and a refused read each add exactly one
    audit row for the note: actor, practice, action, object, time, address, outcome, and
    no clinical text."""
    note = new_note(client, team, {"narrative": {"summary": CANARY}})
    url = f"/api/v1/notes/{note['id']}"
    steps = [  # who, what, expected status, expected action and outcome
        (team.author, lambda h: client.get(url, headers=h), 200, "note.read", "success"),
        (
            team.author,
            lambda h: client.post(f"{url}/sign", headers={**h, "If-Match": '"1"'}),
            200,
            "note.sign",
            "success",
        ),
        (
            team.author,
            lambda h: client.post(f"{url}/addenda", json={"text": SECOND_CANARY}, headers=h),
            201,
            "note.addendum",
            "success",
        ),
        (team.colleague, lambda h: client.get(url, headers=h), 404, "access.denied", "denied"),
    ]
    for actor, send, status, action, outcome in steps:
        headers = auth(actor)
        before = len(audit_rows(object_id=note["id"]))
        started = datetime.now(UTC)
        response = send(headers)
        finished = datetime.now(UTC)
        assert response.status_code == status, response.get_data(as_text=True)
        new_rows = audit_rows(object_id=note["id"])[before:]
        assert [(row.action, row.outcome) for row in new_rows] == [(action, outcome)]
        [row] = new_rows
        assert (row.actor_id, row.practice_id) == (actor.id, team.practice.id), action
        assert row.object_type == "note" and row.address, action
        assert started <= row.occurred_at <= finished, (action, started, row.occurred_at)
    everything = " ".join(str(value) for row in audit_rows() for value in vars(row).values())
    assert CANARY not in everything and SECOND_CANARY not in everything


def test_a_refusal_is_audited_under_the_action_a_success_would_have(client, db, team):
    """The after-request hook names failures as the views name successes."""
    draft = new_note(client, team)
    refused = client.post(
        f"/api/v1/notes/{draft['id']}/addenda",
        json={"text": "too early"},
        headers=auth(team.author),
    )
    assert_error(refused, 409)
    rows = audit_rows(object_id=draft["id"], outcome="failure")
    assert [row.action for row in rows] == ["note.addendum"]
