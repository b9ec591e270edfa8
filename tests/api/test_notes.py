"""Process notes over HTTP: drafts, If-Match, signing, addenda, access, audit, bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from practice.notes.models import NoteAddendum, ProcessNote
from tests.factories import end_supervision, make_appointment
from tests.helpers import CANARY, assert_error, audit_rows, audit_text, auth, count, settle

# A second piece of clinical text (another note, an addendum), told apart from CANARY.
SECOND_CANARY = "Wombat-canary-4410: the uncle's blue rowing boat"


def new_note(client, team, content=None, *, about=None, **extra) -> dict:
    """A draft by the team's author about `about` (default: the team's client)."""
    body = {"session_date": "2026-03-02", "content": content or {}, **extra}
    about = about or team.client
    response = client.post(
        f"/api/v1/clients/{about.id}/notes", json=body, headers=auth(team.author)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def signed_note(client, team) -> dict:
    note = new_note(client, team, {"narrative": {"summary": "signed one"}})
    headers = {**auth(team.author), "If-Match": '"1"'}
    response = client.post(f"/api/v1/notes/{note['id']}/sign", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def put(client, note_id, user, content, if_match=None):
    headers = dict(auth(user))
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.put(f"/api/v1/notes/{note_id}", json={"content": content}, headers=headers)


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


# --- integrity --------------------------------------------------------------------


def _tamper(db, note_id, blob: bytes) -> None:
    db.session.execute(
        sa.text("UPDATE process_notes SET content = :blob WHERE id = :id"),
        {
            "blob": blob,
            "id": uuid.UUID(note_id).hex
            if db.engine.dialect.name == "sqlite"
            else uuid.UUID(note_id),
        },
    )
    settle()
    db.session.expire_all()


def test_tampered_ciphertext_is_an_audited_error_without_text(client, db, team):
    note = new_note(client, team, {"narrative": {"summary": CANARY}})
    blob = bytearray(db.session.get(ProcessNote, uuid.UUID(note["id"])).content)
    blob[-5] ^= 0x01
    _tamper(db, note["id"], bytes(blob))
    for response in (
        client.get(f"/api/v1/notes/{note['id']}", headers=auth(team.author)),
        client.get(f"/api/v1/clients/{team.client.id}/notes", headers=auth(team.author)),
    ):
        body = assert_error(response, 500)
        assert CANARY not in response.get_data(as_text=True) and "content" not in body
    failures = audit_rows(action="crypto.integrity_failure")
    assert len(failures) == 2 and failures[0].object_id == note["id"]


@pytest.mark.parametrize("target_of", ["client", "other_client"])
def test_ciphertext_copied_onto_another_note_is_an_audited_integrity_error(
    client, db, team, target_of
):
    """SECURITY 2: a note's ciphertext copied onto another note, of the same client or of
    another one, never decrypts: the error shape (handle_crypto_failure: 500 and a generic
    message), none of either note's text, and one audit entry naming the target note."""
    source = new_note(client, team, {"narrative": {"summary": CANARY}})
    target = new_note(
        client,
        team,
        {"narrative": {"summary": SECOND_CANARY}},
        about=getattr(team, target_of),
        session_date="2026-03-03",
    )
    blob = db.session.get(ProcessNote, uuid.UUID(source["id"])).content
    _tamper(db, target["id"], blob)
    before = len(audit_rows())
    response = client.get(f"/api/v1/notes/{target['id']}", headers=auth(team.author))
    body = assert_error(response, 500)
    assert body == {
        "code": 500,
        "status": "Internal Server Error",
        "message": "This record failed an integrity check and cannot be shown.",
    }
    text = response.get_data(as_text=True)
    assert CANARY not in text and SECOND_CANARY not in text
    [failure] = audit_rows(action="crypto.integrity_failure")
    assert failure.object_id == target["id"] and failure.object_type == "process_notes"
    assert (failure.outcome, failure.actor_id) == ("error", team.author.id)
    assert failure.practice_id == team.practice.id
    new_rows = audit_rows()[before:]
    assert [(row.action, row.object_id) for row in new_rows] == [
        ("crypto.integrity_failure", target["id"])
    ]  # no note.read success for the failed read
    assert CANARY not in audit_text() and SECOND_CANARY not in audit_text()


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
