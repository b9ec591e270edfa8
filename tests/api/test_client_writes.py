"""/api/v1/clients writes: validation, status and dates, assignment rules, hostile input."""

import uuid
from datetime import date, timedelta

import pytest

from practice.clients.models import Client
from practice.extensions import db
from tests.factories import bearer, make_client, make_practice, make_staff, make_user
from tests.helpers import assert_error, audit_rows, counts, settle

URL = "/api/v1/clients"

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def clinic():
    practice = make_practice()
    staff = make_staff(practice, inactive=["clinician"])
    staff["inactive"].active = False
    record = make_client(practice, staff["mine"], care_team=[staff["colleague"]])
    settle()
    return practice, staff, record


def valid(staff, **extra) -> dict:
    payload = {
        "first_name": "Ada",
        "last_name": "Quillfeather",
        "primary_clinician_id": str(staff["mine"].id),
    }
    payload.update(extra)
    return payload


def refused(client, user, payload, code=422, field=None):
    before = counts()
    body = assert_error(client.post(URL, json=payload, headers=bearer(user)), code)
    assert counts() == before
    if field is not None:
        assert field in body["errors"]["json"], body
    return body


LONG = "x" * 101
BAD_BODIES = [
    ({"first_name": 5}, "first_name"),
    ({"first_name": ["Ada"]}, "first_name"),
    ({"first_name": "   "}, "first_name"),
    ({"last_name": LONG}, "last_name"),
    ({"last_name": "x" * 100_000}, "last_name"),
    ({"last_name": "Null\x00Byte"}, "last_name"),
    ({"last_name": "Line\nBreak"}, "last_name"),
    ({"preferred_name": LONG}, "preferred_name"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": "x" * 250 + "@example.test"}, "email"),
    ({"phone": "call me"}, "phone"),
    ({"phone": "030 901820"}, "phone"),
    ({"phone": 4930901820}, "phone"),
    ({"date_of_birth": "1988-13-01"}, "date_of_birth"),
    ({"date_of_birth": "yesterday"}, "date_of_birth"),
    ({"date_of_birth": (date.today() + timedelta(days=2)).isoformat()}, "date_of_birth"),
    ({"date_of_birth": "1850-01-01"}, "date_of_birth"),
    ({"status": "deleted"}, "status"),
    ({"status": "discharged", "discharge_date": "2030-01-01"}, "discharge_date"),
    ({"discharge_date": "2026-01-01"}, "discharge_date"),
    ({"intake_date": "2026-02-01", "date_of_birth": "2026-03-01"}, "intake_date"),
    (
        {"status": "discharged", "intake_date": "2026-02-01", "discharge_date": "2026-01-01"},
        "discharge_date",
    ),
    ({"primary_clinician_id": "1' OR '1'='1"}, "primary_clinician_id"),
    ({"primary_clinician_id": 7}, "primary_clinician_id"),
    ({"care_team_ids": "everyone"}, "care_team_ids"),
    ({"care_team_ids": ["not-a-uuid"]}, "care_team_ids"),
    ({"care_team_ids": [str(uuid.uuid4()) for _ in range(60)]}, "care_team_ids"),
    ({"is_admin": True}, "is_admin"),
    ({"id": str(uuid.uuid4())}, "id"),
    ({"practice_id": str(uuid.uuid4())}, "practice_id"),
]


@pytest.mark.parametrize(("change", "field"), BAD_BODIES)
def test_bad_bodies_are_422_and_store_nothing(client, clinic, change, field):
    _practice, staff, _record = clinic
    refused(client, staff["owner"], valid(staff, **change), field=field)


@pytest.mark.parametrize("missing", ["first_name", "last_name"])
def test_missing_names_are_422(client, clinic, missing):
    _practice, staff, _record = clinic
    payload = valid(staff)
    del payload[missing]
    refused(client, staff["owner"], payload, field=missing)


@pytest.mark.parametrize("body", [[], "text", 42, None])
def test_non_object_bodies_are_refused(client, clinic, body):
    _practice, staff, _record = clinic
    before = counts()
    response = client.post(URL, json=body, headers=bearer(staff["owner"]))
    assert 400 <= response.status_code < 500
    assert response.get_json()["code"] == response.status_code
    assert counts() == before


@pytest.mark.parametrize(
    ("who", "index"),
    [("unknown", 0), ("outsider", 0), ("inactive", 0), ("scheduler", 0), ("supervisor", 0)],
)
def test_assignments_need_active_clinicians_of_this_practice(client, clinic, who, index):
    _practice, staff, _record = clinic
    target = str(uuid.uuid4()) if who == "unknown" else str(staff[who].id)
    body = refused(client, staff["owner"], valid(staff, primary_clinician_id=target))
    assert "primary_clinician_id" in body["errors"]["json"]
    body = refused(client, staff["owner"], valid(staff, care_team_ids=[target]))
    assert str(index) in body["errors"]["json"]["care_team_ids"]


def test_primary_cannot_also_be_on_the_care_team(client, clinic):
    _practice, staff, _record = clinic
    refused(client, staff["owner"], valid(staff, care_team_ids=[str(staff["mine"].id)]))


def test_unicode_and_sql_looking_names_are_stored_verbatim(client, clinic):
    _practice, staff, _record = clinic
    for first, last in [
        ("Zoë", "Ångström-Øyelid"),
        ("Μαρία", "Παπαδοπούλου"),
        ("Robert'); DROP TABLE clients;--", "O'Brien"),
        ("美咲", "山田"),
    ]:
        response = client.post(
            URL, json=valid(staff, first_name=first, last_name=last), headers=bearer(staff["mine"])
        )
        assert response.status_code == 201, response.get_json()
        stored = db.session.get(Client, uuid.UUID(response.get_json()["id"]))
        assert (stored.first_name, stored.last_name) == (first, last)


def test_phone_region_is_configurable(client, clinic, app, monkeypatch):
    _practice, staff, _record = clinic
    body = refused(client, staff["owner"], valid(staff, phone="030 901820"), field="phone")
    assert "country code" in body["errors"]["json"]["phone"][0]
    monkeypatch.setitem(app.config, "PRACTICE_PHONE_REGION", "DE")
    response = client.post(
        URL, json=valid(staff, phone="030 901820", email=""), headers=bearer(staff["owner"])
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["phone"] == "+4930901820"
    assert response.get_json()["email"] is None


def patch(client, user, record, payload):
    return client.patch(f"{URL}/{record.id}", json=payload, headers=bearer(user))


def test_discharge_and_readmission(client, clinic):
    _practice, staff, record = clinic
    response = patch(client, staff["mine"], record, {"status": "discharged"})
    assert response.status_code == 200
    assert response.get_json()["discharge_date"] is not None
    response = patch(client, staff["mine"], record, {"status": "active"})
    assert response.get_json()["discharge_date"] is None
    assert [r.object_id for r in audit_rows("client.update")] == [str(record.id)] * 2
    bad = patch(client, staff["mine"], record, {"discharge_date": "2026-02-01"})
    assert "discharge_date" in assert_error(bad, 422)["errors"]["json"]
    early = patch(
        client, staff["mine"], record, {"status": "discharged", "discharge_date": "2025-12-31"}
    )
    assert "discharge_date" in assert_error(early, 422)["errors"]["json"]
    db.session.refresh(record)
    assert record.status == "active" and record.discharge_date is None


def test_patch_clears_and_keeps_fields(client, clinic):
    _practice, staff, record = clinic
    response = patch(
        client, staff["scheduler"], record, {"preferred_name": "Addy", "email": "a@example.test"}
    )
    assert response.status_code == 200
    response = patch(client, staff["scheduler"], record, {"preferred_name": None})
    body = response.get_json()
    assert body["preferred_name"] is None and body["email"] == "a@example.test"
    assert body["last_name"] == record.last_name


def test_reassignment_rules(client, clinic):
    practice, staff, record = clinic
    # A clinician cannot hand a client over, and a care-team member cannot change the team.
    assert_error(
        patch(client, staff["mine"], record, {"primary_clinician_id": str(staff["colleague"].id)}),
        403,
    )
    assert_error(patch(client, staff["colleague"], record, {"care_team_ids": []}), 403)
    # The primary clinician manages the team; the front desk reassigns.
    assert patch(client, staff["mine"], record, {"care_team_ids": []}).status_code == 200
    newcomer = make_user(practice, ["clinician"])
    settle()
    moved = patch(
        client,
        staff["scheduler"],
        record,
        {"primary_clinician_id": str(newcomer.id), "care_team_ids": [str(staff["mine"].id)]},
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["care_team_ids"] == [str(staff["mine"].id)]
    # Promoting a care-team member drops them from the team.
    promoted = patch(
        client, staff["owner"], record, {"primary_clinician_id": str(staff["mine"].id)}
    )
    assert promoted.get_json()["care_team_ids"] == []


def test_existing_inactive_member_does_not_block_other_edits(client, clinic):
    _practice, staff, record = clinic
    staff["colleague"].active = False
    settle()
    response = patch(
        client,
        staff["mine"],
        record,
        {"phone": "+44 20 7946 0018", "care_team_ids": [str(staff["colleague"].id)]},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["phone"] == "+442079460018"


@pytest.mark.parametrize(("change", "field"), BAD_BODIES[:24])
def test_bad_patches_change_nothing(client, clinic, change, field):
    _practice, staff, record = clinic
    before = (record.first_name, record.last_name, record.status, record.phone)
    body = assert_error(patch(client, staff["owner"], record, change), 422)
    assert field in body["errors"]["json"]
    db.session.refresh(record)
    assert (record.first_name, record.last_name, record.status, record.phone) == before


@pytest.mark.parametrize("bad", ["not-a-uuid", "1' OR '1'='1", "%00", "ümlaut"])
def test_non_uuid_ids_are_404(client, clinic, bad):
    _practice, staff, _record = clinic
    assert_error(client.get(f"{URL}/{bad}", headers=bearer(staff["owner"])), 404)
    assert_error(
        client.patch(f"{URL}/{bad}", json={"status": "inactive"}, headers=bearer(staff["owner"])),
        404,
    )
