"""The theme loader reads raw columns for speed, yet hands out the same Python types on
SQLite and PostgreSQL (practice.database.as_uuid, as_date, as_utc)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from practice.database import as_date, as_utc, as_uuid
from practice.themes.loader import load_attended, note_rows
from tests.factories import make_client, make_practice, make_user
from tests.themes.factories import make_attended, make_note


@pytest.fixture
def clinic(db):
    practice = make_practice()
    clinician = make_user(practice, ("clinician",))
    return clinician, make_client(practice, clinician)


def test_appointment_ids_and_dates_are_the_same_types_on_every_database(clinic):
    clinician, client = clinic
    seen = make_attended(client, clinician, date(2026, 2, 3))
    make_attended(client, clinician, date(2026, 2, 10), status="cancelled_late")
    on_it = make_note(client, clinician, date(2026, 2, 3), {}, appointment=seen)
    off_it = make_note(client, clinician, date(2026, 2, 4), {})
    rows = {row[0]: row for row in note_rows(client, [clinician.id])}
    assert rows[on_it.id][1:4] == (date(2026, 2, 3), "signed", seen.id)
    assert type(rows[on_it.id][3]) is uuid.UUID
    assert rows[off_it.id][3] is None
    [attended] = load_attended(client, "Europe/Berlin")
    assert (attended.appointment_id, attended.day) == (seen.id, date(2026, 2, 3))
    assert type(attended.appointment_id) is uuid.UUID
    # Every note on an attended appointment: the dates are not even converted.
    [undated] = load_attended(client, "Europe/Berlin", dated=[seen.id])
    assert (undated.appointment_id, undated.day) == (seen.id, None)


def test_the_raw_value_readers_accept_what_either_driver_returns():
    some = uuid.uuid4()
    assert as_uuid(some.hex) == as_uuid(some) == some and as_uuid(None) is None
    assert as_date("2026-02-03") == as_date(date(2026, 2, 3)) == date(2026, 2, 3)
    aware = datetime(2026, 2, 3, 8, 0, tzinfo=UTC)
    assert as_utc("2026-02-03 08:00:00.000000") == as_utc(aware) == aware
    assert as_utc(datetime(2026, 2, 3, 8, 0)) == aware
