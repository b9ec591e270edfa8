"""The theme loader reads raw columns for speed, yet hands out the same Python types on
SQLite and PostgreSQL (practice.database.as_uuid, as_date, as_utc)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from practice.database import as_date, as_utc, as_uuid, uuid_reader
from practice.extensions import db as _db
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


def test_one_reader_converts_each_id_once_for_both_queries(clinic):
    """The notes' appointment ids and the appointments' ids are the same ids: read with
    one uuid_reader they are converted once, the very same UUID objects where the driver
    gives text (SQLite); PostgreSQL's driver gives UUIDs, kept as they are."""
    clinician, client = clinic
    seen = make_attended(client, clinician, date(2026, 2, 3))
    make_note(client, clinician, date(2026, 2, 3), {}, appointment=seen)
    read = uuid_reader()
    [row] = note_rows(client, [clinician.id], read)
    [attended] = load_attended(client, "Europe/Berlin", read_uuid=read)
    assert row[3] == attended.appointment_id == seen.id
    assert type(row[3]) is uuid.UUID and type(attended.appointment_id) is uuid.UUID
    if _db.engine.dialect.name == "sqlite":
        assert row[3] is attended.appointment_id


def test_the_reader_keeps_uuids_and_none_and_converts_hex_once():
    read, some = uuid_reader(), uuid.uuid4()
    assert read(None) is None and read(some) is some
    first = read(some.hex)
    assert first == some and type(first) is uuid.UUID and read(some.hex) is first
