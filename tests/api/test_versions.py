"""Versions over HTTP: every versioned write names the version it read (If-Match, never
`*`), and a note's or script's ciphertext opens only at its row's version (SECURITY 25, 34).
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from practice.clients.models import Client
from practice.extensions import db as _db
from practice.keys import client_keys
from practice.keys.envelope import VALUE_FORMAT, VERSIONED_FORMAT, pad_json
from practice.keys.errors import IntegrityError
from practice.notes.models import ProcessNote, Script
from tests.helpers import CANARY, assert_error, audit_rows, audit_text, auth, settle

OLDER = "Tapir-canary-2290: the first draft's words about the father"


def matched(user, tag: str | None) -> dict:
    return {**auth(user), **({"If-Match": tag} if tag is not None else {})}


def new_note(client, team, summary: str = "draft") -> dict:
    response = client.post(
        f"/api/v1/clients/{team.client.id}/notes",
        json={"session_date": "2026-03-02", "content": {"narrative": {"summary": summary}}},
        headers=auth(team.author),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def new_script(client, team, name: str = "pleases to be kept") -> dict:
    response = client.post(
        f"/api/v1/clients/{team.client.id}/scripts", json={"name": name}, headers=auth(team.author)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def put_note(client, team, note_id, summary: str, tag: str | None):
    return client.put(
        f"/api/v1/notes/{note_id}",
        json={"content": {"narrative": {"summary": summary}}},
        headers=matched(team.author, tag),
    )


# --- If-Match on every versioned write -------------------------------------------


def _writes(client, team):
    """Each versioned write as (name, send(tag) -> response, the object's current tag)."""
    note = new_note(client, team)
    script = new_script(client, team)
    other = new_script(client, team, "expects to be dropped")
    scripts = f"/api/v1/clients/{team.client.id}/scripts"
    return [
        ("note PUT", lambda tag: put_note(client, team, note["id"], "x", tag)),
        (
            "note sign",
            lambda tag: client.post(
                f"/api/v1/notes/{note['id']}/sign", headers=matched(team.author, tag)
            ),
        ),
        (
            "script PATCH",
            lambda tag: client.patch(
                f"{scripts}/{script['id']}", json={"name": "y"}, headers=matched(team.author, tag)
            ),
        ),
        (
            "script merge",
            lambda tag: client.post(
                f"{scripts}/{script['id']}/merge",
                json={"into_script_id": other["id"]},
                headers=matched(team.author, tag),
            ),
        ),
    ]


@pytest.mark.parametrize(
    ("tag", "status", "says"),
    [
        (None, 428, "Send If-Match"),
        ("", 428, "Send If-Match"),
        ("*", 428, "If-Match: * is not accepted"),
        ('"1", *', 428, "If-Match: * is not accepted"),
        ('W/"*"', 428, "If-Match: * is not accepted"),
        ('"2"', 412, "changed since you read it"),
        ('"0", "7"', 412, "changed since you read it"),
        ("garbage", 412, "changed since you read it"),
    ],
)
def test_every_versioned_write_needs_the_version_it_read(client, db, team, tag, status, says):
    """Note PUT and sign, script PATCH and merge: no If-Match, or `*`, is 428; another
    version is 412; nothing changes, and the refusal is audited."""
    for name, send in _writes(client, team):
        before = len(audit_rows())
        body = assert_error(send(tag), status)
        assert says in body["message"], name
        assert [row.outcome for row in audit_rows()[before:]] == ["failure"], name
    settle()
    assert {n.version for n in db.session.scalars(sa.select(ProcessNote))} == {1}
    assert {s.version for s in db.session.scalars(sa.select(Script))} == {1}
    assert db.session.scalar(sa.select(ProcessNote.status)) == "draft"


def test_every_versioned_write_succeeds_with_its_version(client, db, team):
    """The same writes, in turn, with the current ETag (weak or strong, alone or in a
    list) pass and answer the next version."""
    tags = [('"1"', 2), ('W/"2"', 3), ('"0", "1"', 2), ('"2"', 3)]
    for (name, send), (tag, after) in zip(_writes(client, team), tags, strict=True):
        response = send(tag)
        assert response.status_code == 200, (name, response.get_data(as_text=True))
        assert response.headers["ETag"] == f'"{after}"', name
        assert response.get_json()["version"] == after, name


def test_sign_signs_the_version_the_author_saw(client, db, team):
    """A sign with the ETag read before someone else's PUT is 412, and the note stays a
    draft with the newer words; with the new ETag it signs exactly those words."""
    note = new_note(client, team, OLDER)
    assert put_note(client, team, note["id"], CANARY, '"1"').status_code == 200
    url = f"/api/v1/notes/{note['id']}"
    assert_error(client.post(f"{url}/sign", headers=matched(team.author, '"1"')), 412)
    assert client.get(url, headers=auth(team.author)).get_json()["status"] == "draft"
    signed = client.post(f"{url}/sign", headers=matched(team.author, '"2"'))
    assert signed.status_code == 200 and signed.headers["ETag"] == '"3"'
    body = signed.get_json()
    assert body["status"] == "signed" and body["content"] == {"narrative": {"summary": CANARY}}
    assert client.get(url, headers=auth(team.author)).get_json()["version"] == 3


def test_signing_twice_or_merging_twice_is_409_whatever_the_if_match(client, db, team):
    note = new_note(client, team)
    url = f"/api/v1/notes/{note['id']}/sign"
    assert client.post(url, headers=matched(team.author, '"1"')).status_code == 200
    for tag in (None, "*", '"1"', '"2"'):
        assert_error(client.post(url, headers=matched(team.author, tag)), 409)
    a, b = new_script(client, team), new_script(client, team, "b")
    merge = f"/api/v1/clients/{team.client.id}/scripts/{a['id']}/merge"
    body = {"into_script_id": b["id"]}
    assert client.post(merge, json=body, headers=matched(team.author, '"1"')).status_code == 200
    for tag in (None, "*", '"2"'):
        assert_error(client.post(merge, json=body, headers=matched(team.author, tag)), 409)


def test_addenda_need_no_if_match(client, db, team):
    """An addendum appends to a signed note, which never changes again (its version
    stays): there is nothing to overwrite, so no precondition is asked for."""
    note = new_note(client, team)
    client.post(f"/api/v1/notes/{note['id']}/sign", headers=matched(team.author, '"1"'))
    url = f"/api/v1/notes/{note['id']}/addenda"
    for tag in (None, "*"):
        response = client.post(url, json={"text": "later"}, headers=matched(team.author, tag))
        assert response.status_code == 201 and response.headers["ETag"] == '"2"'


# --- ciphertexts bound to their version ------------------------------------------


def _row_id(db, row_id):
    return uuid.UUID(str(row_id)).hex if db.engine.dialect.name == "sqlite" else row_id


def _put_back(db, table: str, column: str, row_id, blob: bytes) -> None:
    db.session.execute(
        sa.text(f"UPDATE {table} SET {column} = :blob WHERE id = :id"),  # noqa: S608
        {"blob": blob, "id": _row_id(db, row_id)},
    )
    settle()
    db.session.expire_all()


def _stored(db, model, row_id) -> bytes:
    """The sealed column of a note (content) or script (payload), as stored now."""
    db.session.expire_all()
    row = db.session.get(model, uuid.UUID(str(row_id)))
    return bytes(row.content if model is ProcessNote else row.payload)


def _assert_integrity_failure(response, row_id, table: str, actor) -> None:
    body = assert_error(response, 500)
    assert body["message"] == "This record failed an integrity check and cannot be shown."
    text = response.get_data(as_text=True)
    assert OLDER not in text and CANARY not in text
    failures = audit_rows(action="crypto.integrity_failure")
    assert failures and failures[-1].object_id == str(row_id)
    assert (failures[-1].object_type, failures[-1].actor_id) == (table, actor.id)
    assert OLDER not in audit_text() and CANARY not in audit_text()


def test_an_older_note_text_put_back_fails_to_decrypt_and_is_audited(client, db, team):
    """SECURITY 34, the attack of issue 16: version 1's ciphertext written back into the
    row at version 2 no longer shows version 1's text under version 2."""
    note = new_note(client, team, OLDER)
    first = _stored(db, ProcessNote, note["id"])
    assert first[0] == VERSIONED_FORMAT
    assert put_note(client, team, note["id"], CANARY, '"1"').status_code == 200
    _put_back(db, "process_notes", "content", note["id"], first)
    url = f"/api/v1/notes/{note['id']}"
    _assert_integrity_failure(
        client.get(url, headers=auth(team.author)), note["id"], "process_notes", team.author
    )
    listed = client.get(f"/api/v1/clients/{team.client.id}/notes", headers=auth(team.author))
    _assert_integrity_failure(listed, note["id"], "process_notes", team.author)
    themes = client.get(
        f"/api/v1/clients/{team.client.id}/themes?include_drafts=true", headers=auth(team.author)
    )
    _assert_integrity_failure(themes, note["id"], "process_notes", team.author)
    # Nor can it be signed: sign opens the text to seal it for the signed version.
    signing = client.post(f"{url}/sign", headers=matched(team.author, '"2"'))
    _assert_integrity_failure(signing, note["id"], "process_notes", team.author)
    assert _stored(db, ProcessNote, note["id"]) == first


def test_a_draft_text_put_back_onto_its_signed_note_fails(client, db, team):
    """Signing seals the same words again for the signed version, so the draft's blob
    cannot stand in for them afterwards. (The database also refuses any UPDATE of a signed
    note; this checks the binding itself, below that guard.)"""
    note = new_note(client, team, OLDER)
    draft = _stored(db, ProcessNote, note["id"])
    signed = client.post(f"/api/v1/notes/{note['id']}/sign", headers=matched(team.author, '"1"'))
    assert signed.status_code == 200
    assert _stored(db, ProcessNote, note["id"]) != draft
    cipher = client_keys.client_cipher(_db.session.get(Client, team.client.id))
    with pytest.raises(IntegrityError):
        cipher.unseal("process_notes", "content", uuid.UUID(note["id"]), draft, 2)
    assert cipher.unseal("process_notes", "content", uuid.UUID(note["id"]), draft, 1) == {
        "narrative": {"summary": OLDER}
    }


def test_an_older_script_put_back_fails_to_decrypt_and_is_audited(client, db, team):
    script = new_script(client, team, OLDER)
    first = _stored(db, Script, script["id"])
    url = f"/api/v1/clients/{team.client.id}/scripts/{script['id']}"
    patched = client.patch(url, json={"name": CANARY}, headers=matched(team.author, '"1"'))
    assert patched.status_code == 200
    _put_back(db, "scripts", "payload", script["id"], first)
    _assert_integrity_failure(
        client.get(url, headers=auth(team.author)), script["id"], "scripts", team.author
    )


def test_a_merged_script_is_sealed_for_its_new_version(client, db, team):
    a, b = new_script(client, team, OLDER), new_script(client, team, "b")
    before = _stored(db, Script, a["id"])
    merge = f"/api/v1/clients/{team.client.id}/scripts/{a['id']}/merge"
    merged = client.post(
        merge, json={"into_script_id": b["id"]}, headers=matched(team.author, '"1"')
    )
    assert merged.status_code == 200 and merged.get_json()["name"] == OLDER
    assert _stored(db, Script, a["id"]) != before
    _put_back(db, "scripts", "payload", a["id"], before)
    url = f"/api/v1/clients/{team.client.id}/scripts/{a['id']}"
    _assert_integrity_failure(
        client.get(url, headers=auth(team.author)), a["id"], "scripts", team.author
    )


def test_a_value_written_before_versions_were_bound_still_opens(client, db, team):
    """Rows sealed in format 0x01 (before this change) keep opening at whatever version
    the row has, and the next write seals them in the versioned format."""
    note = new_note(client, team)
    assert put_note(client, team, note["id"], "second", '"1"').status_code == 200
    client_row = _db.session.get(Client, team.client.id)
    cipher = client_keys.client_cipher(client_row)._cipher
    legacy = cipher.encrypt(
        "process_notes",
        "content",
        uuid.UUID(note["id"]),
        pad_json(b'{"narrative":{"summary":"written in 2025"}}'),
    )
    assert legacy[0] == VALUE_FORMAT
    _put_back(db, "process_notes", "content", note["id"], legacy)
    url = f"/api/v1/notes/{note['id']}"
    shown = client.get(url, headers=auth(team.author)).get_json()
    assert shown["version"] == 2 and shown["content"] == {
        "narrative": {"summary": "written in 2025"}
    }
    assert not audit_rows(action="crypto.integrity_failure")
    assert put_note(client, team, note["id"], "third", '"2"').status_code == 200
    assert _stored(db, ProcessNote, note["id"])[0] == VERSIONED_FORMAT
