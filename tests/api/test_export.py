"""/api/v1/clients/{id}/export: an allowlisted record for owners and assigned clinicians."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from practice import export
from practice.database import utcnow
from practice.extensions import db
from practice.scheduling.models import Room
from tests.factories import bearer, make_appointment, make_client, make_practice, make_staff
from tests.helpers import assert_error, audit_rows, audit_text, settle

URL = "/api/v1/clients"

pytestmark = pytest.mark.usefixtures("cheap_hashing")

CANARY_REASON = "canary-cancel-reason-7f3a"


@pytest.fixture
def record():
    practice = make_practice()
    staff = make_staff(practice, stranger=["clinician"])
    person = make_client(practice, staff["mine"], care_team=[staff["colleague"]])
    person.email = "canary.export@example.test"
    room = Room(practice_id=practice.id, name="Garden Room")
    db.session.add(room)
    db.session.flush()
    start = utcnow().replace(microsecond=0) - timedelta(days=7)
    make_appointment(person, starts_at=start, status="attended", room=room)
    make_appointment(
        person,
        starts_at=start + timedelta(days=2),
        status="late_cancelled",
        cancelled_by="client",
        cancel_reason=CANARY_REASON,
        modality="video",
    )
    make_appointment(person, staff["colleague"], starts_at=start + timedelta(days=14))
    make_appointment(make_client(practice, staff["mine"]), starts_at=start + timedelta(days=1))
    settle()
    return person, staff


def get_export(client, person, user):
    return client.get(f"{URL}/{person.id}/export", headers=bearer(user))


@pytest.mark.parametrize("who", ["owner", "mine", "colleague"])
def test_owner_and_assigned_clinicians_export(client, record, who):
    person, staff = record
    response = get_export(client, person, staff[who])
    assert response.status_code == 200, response.get_json()
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["format"] == export.FORMAT
    assert body["client"]["id"] == str(person.id)
    assert body["client"]["email"] == "canary.export@example.test"
    assert body["client"]["care_team_ids"] == [str(staff["colleague"].id)]
    assert len(body["appointments"]) == 3
    first, cancelled, later = body["appointments"]
    assert (first["status"], first["room_name"]) == ("attended", "Garden Room")
    assert (cancelled["status"], cancelled["cancelled_by"]) == ("late_cancelled", "client")
    assert later["clinician_id"] == str(staff["colleague"].id)
    assert [row.object_id for row in audit_rows("client.export")] == [str(person.id)]


def test_export_keys_are_exactly_the_allowlist(client, record):
    person, staff = record
    body = get_export(client, person, staff["owner"]).get_json()
    assert set(body) == set(export.EXPORT_FIELDS)
    assert set(body["client"]) == set(export.CLIENT_FIELDS)
    for appointment in body["appointments"]:
        assert set(appointment) == set(export.APPOINTMENT_FIELDS)
    text = get_export(client, person, staff["owner"]).get_data(as_text=True)
    assert CANARY_REASON not in text
    for clinical in ("note", "script", "figure", "content", "cancel_reason", "name_search"):
        assert f'"{clinical}' not in text


def test_export_audit_rows_hold_ids_only(client, record):
    person, staff = record
    assert get_export(client, person, staff["mine"]).status_code == 200
    text = audit_text()
    for secret in (person.last_name, "canary.export", CANARY_REASON, "Garden Room"):
        assert secret not in text


@pytest.mark.parametrize(
    ("who", "code"),
    [("scheduler", 403), ("stranger", 404), ("supervisor", 404), ("outsider", 404)],
)
def test_others_cannot_export(client, record, who, code):
    person, staff = record
    assert_error(get_export(client, person, staff[who]), code)
    denied = audit_rows("access.denied")
    assert denied and denied[-1].object_id == str(person.id)
    assert audit_rows("client.export") == []


def test_unknown_and_malformed_ids(client, record):
    _person, staff = record
    missing = assert_error(
        client.get(f"{URL}/{uuid.uuid4()}/export", headers=bearer(staff["owner"])), 404
    )
    foreign = make_client(staff["outsider"].practice, staff["outsider"])
    settle()
    other = assert_error(
        client.get(f"{URL}/{foreign.id}/export", headers=bearer(staff["owner"])), 404
    )
    assert missing == other
    for bad in ("not-a-uuid", "1' OR '1'='1", "%00"):
        assert_error(client.get(f"{URL}/{bad}/export", headers=bearer(staff["owner"])), 404)
    assert_error(client.get(f"{URL}/{foreign.id}/export"), 401)


def test_export_is_read_only(client, record):
    person, staff = record
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Room))
    for method in (client.post, client.put, client.patch, client.delete):
        assert_error(method(f"{URL}/{person.id}/export", headers=bearer(staff["owner"])), 405)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Room)) == before
