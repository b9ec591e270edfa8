"""Recurring series over HTTP: creation checks every occurrence; scoped edits; DST."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from practice.extensions import db
from practice.scheduling.models import Appointment, AppointmentSeries
from tests.factories import bearer
from tests.helpers import assert_error
from tests.scheduling.helpers import MONDAY, at, count_appointments, make_clinic, payload

URL = "/api/v1/appointments"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def clinic():
    return make_clinic()


def create_series(client, clinic, count=6, start=MONDAY, **extra):
    body = payload(clinic, start=start, recurrence={"every_weeks": 1, "count": count}, **extra)
    response = client.post(URL, json=body, headers=bearer(clinic.scheduler))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def members(client, clinic, series_id):
    response = client.get(
        URL, query_string={"series_id": series_id, "page_size": 200}, headers=bearer(clinic.owner)
    )
    return response.get_json()["items"]


def patch(client, clinic, item, body, scope=None):
    url = f"{URL}/{item['id']}" + (f"?scope={scope}" if scope else "")
    return client.patch(url, json=body, headers=bearer(clinic.scheduler))


def test_series_books_every_occurrence(client, clinic):
    first = create_series(client, clinic, count=6)
    assert first["occurrences"] == 6 and first["series_index"] == 0
    items = members(client, clinic, first["series_id"])
    assert [i["series_index"] for i in items] == list(range(6))
    assert items[5]["starts_at"] == at(MONDAY, 35).isoformat()
    series = db.session.get(AppointmentSeries, uuid.UUID(first["series_id"]))
    assert (series.every_weeks, series.count, series.timezone) == (1, 6, "Europe/Berlin")


def test_series_until_keeps_berlin_wall_clock_across_dst(client, clinic):
    start = datetime(2031, 3, 17, 10, 0, tzinfo=BERLIN)
    body = payload(clinic, start=start, recurrence={"every_weeks": 1, "until": "2031-04-07"})
    first = client.post(URL, json=body, headers=bearer(clinic.owner)).get_json()
    items = members(client, clinic, first["series_id"])
    assert [i["starts_at"][11:16] for i in items] == ["09:00", "09:00", "08:00", "08:00"]
    assert {datetime.fromisoformat(i["starts_at"]).astimezone(BERLIN).hour for i in items} == {10}


def test_series_reports_every_conflict_and_stores_nothing(client, clinic):
    blocker = client.post(
        URL, json=payload(clinic, start=at(MONDAY, 14, 0, 30)), headers=bearer(clinic.owner)
    ).get_json()
    other = payload(clinic, start=at(MONDAY, 28), room_id=str(clinic.room.id))
    other.update(client_id=str(clinic.other_client.id), clinician_id=str(clinic.other_clinician.id))
    in_room = client.post(URL, json=other, headers=bearer(clinic.owner)).get_json()
    before = count_appointments()
    body = payload(clinic, room_id=str(clinic.room.id), recurrence={"every_weeks": 1, "count": 8})
    error = assert_error(client.post(URL, json=body, headers=bearer(clinic.owner)), 409)
    assert {(c["appointment_id"], c["reason"]) for c in error["conflicts"]} == {
        (blocker["id"], "clinician"),
        (blocker["id"], "client"),
        (in_room["id"], "room"),
    }
    assert count_appointments() == before
    assert db.session.query(AppointmentSeries).count() == 0


def test_edit_this_detaches_and_survives_series_edits(client, clinic):
    items = members(client, clinic, create_series(client, clinic)["series_id"])
    moved = patch(client, clinic, items[2], {"starts_at": at(MONDAY, 14, 3).isoformat()}, "this")
    assert moved.status_code == 200 and moved.get_json()["detached"] is True
    shifted = patch(
        client,
        clinic,
        items[0],
        {"starts_at": at(MONDAY, 0, 1).isoformat(), "room_id": str(clinic.room.id)},
        "series",
    )
    assert shifted.status_code == 200, shifted.get_json()
    after = {i["series_index"]: i for i in members(client, clinic, items[0]["series_id"])}
    assert after[2]["starts_at"] == at(MONDAY, 14, 3).isoformat()
    assert after[2]["room_id"] is None
    for index in (0, 1, 3, 4, 5):
        assert after[index]["starts_at"] == at(MONDAY, 7 * index, 1).isoformat()
        assert after[index]["room_id"] == str(clinic.room.id)


def test_series_shift_keeps_local_time_across_dst(client, clinic):
    start = datetime(2031, 3, 17, 10, 0, tzinfo=BERLIN)
    items = members(
        client, clinic, create_series(client, clinic, count=4, start=start)["series_id"]
    )
    new_start = datetime(2031, 3, 18, 9, 0, tzinfo=BERLIN)  # Tuesday 09:00 local
    assert (
        patch(client, clinic, items[0], {"starts_at": new_start.isoformat()}, "series").status_code
        == 200
    )
    after = members(client, clinic, items[0]["series_id"])
    local = [datetime.fromisoformat(i["starts_at"]).astimezone(BERLIN) for i in after]
    assert [(t.weekday(), t.hour) for t in local] == [(1, 9)] * 4
    assert [t.day for t in local] == [18, 25, 1, 8]


def test_following_splits_the_series(client, clinic):
    first = create_series(client, clinic, count=6)
    items = members(client, clinic, first["series_id"])
    response = patch(
        client, clinic, items[3], {"duration_minutes": 90, "kind": "couple"}, "following"
    )
    assert response.status_code == 200
    tail_id = response.get_json()["series_id"]
    assert tail_id != first["series_id"]
    head = members(client, clinic, first["series_id"])
    tail = members(client, clinic, tail_id)
    assert [i["series_index"] for i in head] == [0, 1, 2]
    assert [i["series_index"] for i in tail] == [0, 1, 2]
    assert {i["duration_minutes"] for i in head} == {50}
    assert {(i["duration_minutes"], i["kind"]) for i in tail} == {(90, "couple")}
    old = db.session.get(AppointmentSeries, uuid.UUID(first["series_id"]))
    new = db.session.get(AppointmentSeries, uuid.UUID(tail_id))
    db.session.refresh(old)
    assert (old.count, new.count) == (3, 3)


def test_following_on_first_equals_series(client, clinic):
    first = create_series(client, clinic, count=4)
    items = members(client, clinic, first["series_id"])
    assert patch(client, clinic, items[0], {"modality": "video"}, "following").status_code == 200
    after = members(client, clinic, first["series_id"])
    assert len(after) == 4 and {i["modality"] for i in after} == {"video"}


def test_cancel_following_frees_those_slots(client, clinic):
    items = members(client, clinic, create_series(client, clinic, count=5)["series_id"])
    cancel = {"status": "cancelled", "cancelled_by": "client", "cancel_reason": "Ende der Therapie"}
    assert patch(client, clinic, items[2], cancel, "following").status_code == 200
    after = members(client, clinic, items[0]["series_id"])
    assert [i["status"] for i in after] == ["scheduled"] * 2 + ["cancelled"] * 3
    rebook = client.post(
        URL, json=payload(clinic, start=at(MONDAY, 21)), headers=bearer(clinic.owner)
    )
    assert rebook.status_code == 201
    assert_error(patch(client, clinic, items[0], {"status": "attended"}, "series"), 409)


def test_series_edit_checks_every_changed_occurrence(client, clinic):
    items = members(client, clinic, create_series(client, clinic, count=5)["series_id"])
    other = payload(clinic, start=at(MONDAY, 28, 1), room_id=str(clinic.room.id))
    other.update(client_id=str(clinic.other_client.id), clinician_id=str(clinic.other_clinician.id))
    blocker = client.post(URL, json=other, headers=bearer(clinic.owner)).get_json()
    body = {"starts_at": at(MONDAY, 7, 1).isoformat(), "room_id": str(clinic.room.id)}
    error = assert_error(patch(client, clinic, items[1], body, "series"), 409)
    assert [(c["appointment_id"], c["reason"]) for c in error["conflicts"]] == [
        (blocker["id"], "room")
    ]
    rows = db.session.query(Appointment).filter_by(series_id=uuid.UUID(items[0]["series_id"]))
    assert {row.starts_at.astimezone(UTC).hour for row in rows} == {10}
    assert not any(row.detached for row in rows)


def test_series_edit_skips_past_and_finished_occurrences(client, clinic):
    items = members(client, clinic, create_series(client, clinic, count=3)["series_id"])
    first = db.session.get(Appointment, uuid.UUID(items[0]["id"]))
    first.starts_at -= timedelta(days=3650)
    first.ends_at -= timedelta(days=3650)
    db.session.commit()
    assert patch(client, clinic, items[1], {"kind": "family"}, "series").status_code == 200
    after = members(client, clinic, items[0]["series_id"])
    assert [i["kind"] for i in after] == ["individual", "family", "family"]
