"""GET /api/v1/health's "keys" part, and reads whose master key the keyring lacks: 503
"misconfigured", not the integrity alarm (issue 14)."""

from __future__ import annotations

from datetime import date

import pytest

from practice.keys.client_keys import forget_keys
from practice.keys.keyring import Keyring, generate_keyring
from practice.notes import service
from tests.factories import bearer, make_team
from tests.helpers import assert_error


@pytest.fixture
def keyed_note(app, db, client, tmp_path):
    """A note sealed under the app's keyring; yields (note id, author's headers, the
    master key id), then puts the app's keyring back."""
    team = make_team()
    note = service.create_note(team.author, team.client, date(2026, 3, 2), {})
    headers = bearer(team.author)
    db.session.commit()
    original = app.extensions["keyring"]
    try:
        yield note.id, headers, original.active_id
    finally:
        app.extensions["keyring"] = original


def test_a_keyring_without_a_needed_key_is_reported_and_answers_503(
    app, client, keyed_note, tmp_path
):
    """issue 14: a restore without its keyring answered every note with a 500 integrity
    alarm. Health names the missing key id (no key material); the note read says the
    server is misconfigured."""
    note_id, headers, key_id = keyed_note
    assert client.get(f"/api/v1/notes/{note_id}", headers=headers).status_code == 200
    other = generate_keyring(tmp_path / "other.json")
    app.extensions["keyring"] = other
    forget_keys()
    health = client.get("/api/v1/health")
    assert health.status_code == 200
    assert health.get_json() == {
        "status": "degraded",
        "database": "ok",
        "keys": "missing",
        "missing_keys": [key_id],
    }
    body = assert_error(client.get(f"/api/v1/notes/{note_id}", headers=headers), 503)
    assert body["message"].startswith("The server is misconfigured")
    assert "integrity" not in body["message"]


def test_a_master_key_with_the_right_id_but_other_bytes_is_an_integrity_failure(
    app, client, keyed_note, tmp_path
):
    """Unknown master key id (503, misconfigured) and a tag mismatch under a key of the
    same id (500, the integrity alarm) are different failures."""
    note_id, headers, key_id = keyed_note
    impostor = Keyring(active_id=key_id, keys={key_id: b"\x01" * 32}, path=None)
    app.extensions["keyring"] = impostor
    forget_keys()
    assert client.get("/api/v1/health").get_json()["keys"] == "ok"
    body = assert_error(client.get(f"/api/v1/notes/{note_id}", headers=headers), 500)
    assert "integrity check" in body["message"]
