"""GET /api/v1/audit: owners only, their practice only, filters, pages, bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from practice.audit import service as audit
from practice.audit.models import AuditEntry
from tests.factories import bearer, make_practice, make_user
from tests.helpers import assert_error

URL = "/api/v1/audit"


@pytest.fixture
def setting(db):
    practice = make_practice()
    owner = make_user(practice, ("owner",))
    clinician = make_user(practice, ("clinician",))
    other = make_practice("Elsewhere Counselling")
    other_owner = make_user(other, ("owner",))
    note_id = uuid.uuid4()
    audit.record(db.session, "note.read", object_type="note", object_id=note_id, actor=clinician)
    audit.record(db.session, "note.update", object_type="note", object_id=note_id, actor=clinician)
    audit.record(
        db.session, "client.read", object_type="client", object_id=uuid.uuid4(), actor=owner
    )
    audit.record(
        db.session, "note.read", object_type="note", object_id=uuid.uuid4(), actor=other_owner
    )
    db.session.commit()
    return {
        "owner": owner,
        "clinician": clinician,
        "other_owner": other_owner,
        "note_id": note_id,
        "headers": bearer(owner),
    }


def items(client, headers, **query):
    response = client.get(URL, query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_owner_sees_own_practice_newest_first(client, setting):
    body = items(client, setting["headers"])
    actions = [item["action"] for item in body["items"]]
    # The practice's creation is audited too (flask audit verify relies on it).
    assert actions == ["client.read", "note.update", "note.read", "practice.create"]
    seqs = [item["seq"] for item in body["items"]]
    assert seqs == sorted(seqs, reverse=True)
    assert body["total"] == 4 and body["page"] == 1 and body["page_size"] == 50
    assert set(body["items"][0]) == {
        "seq", "occurred_at", "actor_id", "action", "object_type", "object_id", "address", "outcome"
    }  # fmt: skip


def test_other_practices_entries_never_visible(client, setting):
    body = items(client, setting["headers"], actor_id=str(setting["other_owner"].id))
    assert body["items"] == [] and body["total"] == 0


def test_reading_the_log_is_audited(client, setting, db):
    items(client, setting["headers"])
    body = items(client, setting["headers"], action="audit.read")
    assert body["total"] == 1
    assert body["items"][0]["actor_id"] == str(setting["owner"].id)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "note.read"}, ["note.read"]),
        ({"object_type": "client"}, ["client.read"]),
        ({"outcome": "success"}, ["client.read", "note.update", "note.read", "practice.create"]),
        ({"outcome": "denied"}, []),
        ({"action": "nothing.like_this"}, []),
    ],
)
def test_filters(client, setting, query, expected):
    assert [i["action"] for i in items(client, setting["headers"], **query)["items"]] == expected


def test_filter_by_actor_and_object(client, setting):
    by_actor = items(client, setting["headers"], actor_id=str(setting["clinician"].id))
    assert [i["action"] for i in by_actor["items"]] == ["note.update", "note.read"]
    by_object = items(client, setting["headers"], object_id=str(setting["note_id"]))
    assert by_object["total"] == 2


def test_since_and_until(client, setting):
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    notes = {"object_type": "note"}
    assert items(client, setting["headers"], since=(now - hour).isoformat(), **notes)["total"] == 2
    assert items(client, setting["headers"], since=(now + hour).isoformat())["total"] == 0
    assert items(client, setting["headers"], until=(now - hour).isoformat())["total"] == 0
    elsewhere = (now + hour).astimezone(timezone(timedelta(hours=-7))).isoformat()
    assert items(client, setting["headers"], until=elsewhere, **notes)["total"] == 2


def test_pagination(client, setting):
    first = items(client, setting["headers"], page=1, page_size=1, object_type="note")
    second = items(client, setting["headers"], page=2, page_size=1, object_type="note")
    beyond = items(client, setting["headers"], page=3, page_size=1, object_type="note")
    assert len(first["items"]) == len(second["items"]) == 1 and beyond["items"] == []
    assert first["total"] == second["total"] == 2
    assert first["items"][0]["seq"] > second["items"][0]["seq"]


@pytest.mark.parametrize("roles", [("clinician",), ("scheduler",), ("supervisor",)])
def test_non_owners_get_403_and_it_is_audited(client, setting, db, roles):
    user = make_user(setting["owner"].practice, roles)
    headers = bearer(user)
    db.session.commit()
    assert_error(client.get(URL, headers=headers), 403)
    denied = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.actor_id == user.id, AuditEntry.outcome == "denied")
    ).all()
    assert [d.action for d in denied] == ["access.denied"]


def test_anonymous_is_401(client):
    assert_error(client.get(URL), 401)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"actor_id": "not-a-uuid"}, "actor_id"),
        ({"actor_id": "1; DROP TABLE audit_entries"}, "actor_id"),
        ({"since": "2026-01-01T10:00:00"}, "since"),
        ({"until": "2026-01-01T10:00:00"}, "until"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"page": "two"}, "page"),
        ({"page": 0}, "page"),
        ({"page_size": 201}, "page_size"),
        ({"page_size": -1}, "page_size"),
        ({"outcome": "sometimes"}, "outcome"),
        ({"action": "x" * 10_000}, "action"),
        ({"object_id": "ü" * 65}, "object_id"),
        ({"object_type": ""}, "object_type"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_is_422_in_error_shape(client, setting, query, field):
    body = assert_error(client.get(URL, query_string=query, headers=setting["headers"]), 422)
    assert field in body["errors"]["query"]


def test_sql_looking_and_unicode_filters_just_match_nothing(client, setting):
    for value in ("' OR 1=1 --", "ノート.読む", "note.read'; DELETE FROM audit_entries; --"):
        assert items(client, setting["headers"], action=value)["total"] == 0
    assert items(client, setting["headers"], action="note.read")["total"] == 1


def test_writes_are_not_allowed(client, setting):
    assert_error(client.post(URL, json={}, headers=setting["headers"]), 405)
    assert_error(client.delete(URL, headers=setting["headers"]), 405)
