"""Progress notes and plans under the tamper tests of process notes: signed rows and
addenda cannot change in the database; a sealed value moved to another row, client or
column, or an older value put back, fails to decrypt (audited, no text shown)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from practice.extensions import db as _db
from practice.keys import client_keys
from practice.keys.errors import IntegrityError
from practice.record.models import ProgressNote, ProgressNoteAddendum, TreatmentPlan
from tests.helpers import CANARY, assert_error, audit_rows, audit_text, auth, settle
from tests.record.helpers import draft_note, session_for, signed_plan

pytestmark = pytest.mark.usefixtures("cheap_hashing")
OLDER = "Tapir-canary-4410: the first words about the brother"


def _key(db, row_id):
    row_id = uuid.UUID(str(row_id))
    return row_id.hex if db.engine.dialect.name == "sqlite" else row_id


def _note(client, team, text: str = OLDER, appointment=None) -> dict:
    appointment = appointment or session_for(team.client, team.author)
    created = draft_note(client, team, appointment, {"presenting_concerns": text})
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def _signed_note(client, team) -> dict:
    note = _note(client, team)
    url = f"/api/v1/progress-notes/{note['id']}"
    body = {"content": {"presenting_concerns": CANARY, "service_code": "90834"}}
    assert (
        client.put(url, json=body, headers={**auth(team.author), "If-Match": '"1"'}).status_code
        == 200
    )
    assert (
        client.post(f"{url}/sign", headers={**auth(team.author), "If-Match": '"2"'}).status_code
        == 200
    )
    added = client.post(f"{url}/addenda", json={"text": "a later word"}, headers=auth(team.author))
    assert added.status_code == 201
    return added.get_json()


REFUSED = [
    ("UPDATE progress_notes SET content = content WHERE id = :id", "note"),
    ("UPDATE progress_notes SET status = 'draft' WHERE id = :id", "note"),
    ("DELETE FROM progress_notes WHERE id = :id", "note"),
    ("UPDATE progress_note_addenda SET text = text WHERE id = :id", "addendum"),
    ("DELETE FROM progress_note_addenda WHERE id = :id", "addendum"),
    ("UPDATE treatment_plans SET review_date = NULL WHERE id = :id", "plan"),
    ("UPDATE treatment_plans SET status = 'draft' WHERE id = :id", "plan"),
    ("DELETE FROM treatment_plans WHERE id = :id", "plan"),
]


@pytest.mark.parametrize(("sql", "target"), REFUSED, ids=[sql[:34] for sql, _ in REFUSED])
def test_the_database_refuses_to_change_a_signed_record(client, db, team, sql, target):
    plan = signed_plan(client, team)
    note = _signed_note(client, team)
    row_id = {"note": note["id"], "addendum": note["addenda"][0]["id"], "plan": plan["id"]}[target]
    with pytest.raises(sa.exc.DBAPIError, match="signed record"), db.session.begin_nested():
        db.session.execute(sa.text(sql), {"id": _key(db, row_id)})


def test_drafts_stay_writable_in_the_database(client, db, team):
    note = _note(client, team)
    db.session.execute(
        sa.text("UPDATE progress_notes SET updated_at = updated_at WHERE id = :id"),
        {"id": _key(db, note["id"])},
    )


def _stored(model, row_id, column: str = "content") -> bytes:
    _db.session.expire_all()
    return bytes(getattr(_db.session.get(model, uuid.UUID(str(row_id))), column))


def _put(db, table: str, column: str, row_id, blob: bytes) -> None:
    db.session.execute(
        sa.text(f"UPDATE {table} SET {column} = :blob WHERE id = :id"),  # noqa: S608
        {"blob": blob, "id": _key(db, row_id)},
    )
    settle()
    db.session.expire_all()


def _integrity_failure(response, row_id, table: str) -> None:
    body = assert_error(response, 500)
    assert body["message"] == "This record failed an integrity check and cannot be shown."
    text = response.get_data(as_text=True)
    assert OLDER not in text and CANARY not in text
    failures = audit_rows(action="crypto.integrity_failure")
    assert failures and failures[-1].object_id == str(row_id)
    assert failures[-1].object_type == table
    assert OLDER not in audit_text() and CANARY not in audit_text()


def test_a_note_value_moved_to_another_note_fails(client, db, team):
    first = _note(client, team)
    second = _note(client, team, "second")
    _put(db, "progress_notes", "content", second["id"], _stored(ProgressNote, first["id"]))
    url = f"/api/v1/progress-notes/{second['id']}"
    _integrity_failure(client.get(url, headers=auth(team.author)), second["id"], "progress_notes")


def test_a_note_value_moved_to_another_clients_note_fails(client, db, team):
    mine = _note(client, team)
    other = client.post(
        f"/api/v1/clients/{team.other_client.id}/progress-notes",
        json={"appointment_id": str(session_for(team.other_client, team.author).id)},
        headers=auth(team.author),
    ).get_json()
    _put(db, "progress_notes", "content", other["id"], _stored(ProgressNote, mine["id"]))
    url = f"/api/v1/progress-notes/{other['id']}"
    _integrity_failure(client.get(url, headers=auth(team.author)), other["id"], "progress_notes")


def test_an_addendum_value_moved_into_a_note_column_fails(client, db, team):
    note = _signed_note(client, team)
    addendum_id = note["addenda"][0]["id"]
    cipher = client_keys.client_cipher(_db.session.get(type(team.client), team.client.id))
    blob = _stored(ProgressNoteAddendum, addendum_id, "text")
    with pytest.raises(IntegrityError):
        cipher.unseal("progress_notes", "content", uuid.UUID(note["id"]), blob, note["version"])
    with pytest.raises(IntegrityError):
        cipher.unseal("treatment_plans", "content", uuid.UUID(addendum_id), blob, 1)


def test_an_older_note_value_put_back_fails(client, db, team):
    note = _note(client, team)
    first = _stored(ProgressNote, note["id"])
    url = f"/api/v1/progress-notes/{note['id']}"
    body = {"content": {"presenting_concerns": CANARY}}
    assert (
        client.put(url, json=body, headers={**auth(team.author), "If-Match": '"1"'}).status_code
        == 200
    )
    _put(db, "progress_notes", "content", note["id"], first)
    _integrity_failure(client.get(url, headers=auth(team.author)), note["id"], "progress_notes")
    listed = client.get(
        f"/api/v1/clients/{team.client.id}/progress-notes", headers=auth(team.author)
    )
    _integrity_failure(listed, note["id"], "progress_notes")


def test_an_older_plan_value_put_back_or_moved_fails(client, db, team):
    base = f"/api/v1/clients/{team.client.id}/treatment-plans"
    plan = client.post(base, json={"content": {"problems": [OLDER]}}, headers=auth(team.author))
    plan = plan.get_json()
    first = _stored(TreatmentPlan, plan["id"])
    url = f"/api/v1/treatment-plans/{plan['id']}"
    body = {"content": {"problems": [CANARY]}}
    assert (
        client.put(url, json=body, headers={**auth(team.author), "If-Match": '"1"'}).status_code
        == 200
    )
    _put(db, "treatment_plans", "content", plan["id"], first)
    _integrity_failure(client.get(url, headers=auth(team.author)), plan["id"], "treatment_plans")
    other = client.post(
        f"/api/v1/clients/{team.other_client.id}/treatment-plans",
        json={},
        headers=auth(team.author),
    ).get_json()
    _put(db, "treatment_plans", "content", other["id"], first)
    other_url = f"/api/v1/treatment-plans/{other['id']}"
    _integrity_failure(
        client.get(other_url, headers=auth(team.author)), other["id"], "treatment_plans"
    )


def test_no_clinical_text_is_stored_in_the_clear(client, db, team):
    signed_plan(client, team, {"problems": [CANARY], "goals": [{"text": CANARY}]})
    _signed_note(client, team)
    for table in ("progress_notes", "progress_note_addenda", "treatment_plans"):
        for row in db.session.execute(sa.text(f"SELECT * FROM {table}")):  # noqa: S608
            assert CANARY.encode() not in repr(tuple(row)).encode()
            for value in row:
                if isinstance(value, bytes | memoryview):
                    assert CANARY.encode() not in bytes(value)


def test_emptying_the_tables_is_refused(client, db, team):
    """TRUNCATE (PostgreSQL: row triggers do not fire on it, a statement trigger does) or,
    on SQLite, which has no TRUNCATE, a DELETE of the whole table."""
    signed_plan(client, team)
    _signed_note(client, team)
    postgres = db.engine.dialect.name == "postgresql"
    for table in ("progress_note_addenda", "progress_notes", "treatment_plans"):
        sql = f"TRUNCATE {table} CASCADE" if postgres else f"DELETE FROM {table}"  # noqa: S608
        with pytest.raises(sa.exc.DBAPIError, match="refused"), db.session.begin_nested():
            db.session.execute(sa.text(sql))
