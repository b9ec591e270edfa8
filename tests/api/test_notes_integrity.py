"""Process notes over HTTP, integrity: tampered or moved ciphertext is an audited error
that shows no text."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from practice.notes.models import ProcessNote
from tests.helpers import (
    CANARY,
    SECOND_CANARY,
    assert_error,
    audit_rows,
    audit_text,
    auth,
    new_note,
    settle,
)

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
