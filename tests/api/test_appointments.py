"""HTTP: booking, reading, listing and changing appointments; who may; bad input."""

import uuid
from datetime import timedelta

import pytest

from practice.extensions import db
from practice.scheduling.models import Appointment
from tests.factories import bearer, make_client, make_practice, make_user
from tests.helpers import assert_error, audit_rows, settle
from tests.scheduling.helpers import (
    MONDAY,
    at,
    count_appointments,
    make_clinic,
    make_room,
    payload,
)

URL = "/api/v1/appointments"


@pytest.fixture
def clinic():
    return make_clinic()


def book(client, clinic, user=None, **kwargs):
    return client.post(URL, json=payload(clinic, **kwargs), headers=bearer(user or clinic.owner))


def test_book_returns_utc_and_no_clinical_fields(client, clinic):
    response = book(client, clinic, start=MONDAY)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["starts_at"] == "2031-01-06T10:00:00+00:00"
    assert body["ends_at"] == "2031-01-06T10:50:00+00:00"
    assert body["duration_minutes"] == 50 and body["status"] == "scheduled"
    assert body["occurrences"] == 1 and body["series_id"] is None
    assert not {"content", "note", "notes", "themes", "scripts"} & set(body)
    assert audit_rows("appointment.create", object_id=body["id"])


def test_offsets_are_converted_to_utc_and_ends_at_accepted(client, clinic):
    body = payload(clinic, start=MONDAY)
    del body["duration_minutes"]
    body["starts_at"] = "2031-01-06T11:00:00+01:00"
    body["ends_at"] = "2031-01-06T12:30:00+01:00"
    response = client.post(URL, json=body, headers=bearer(clinic.scheduler))
    assert response.status_code == 201
    assert response.get_json()["starts_at"] == "2031-01-06T10:00:00+00:00"
    assert response.get_json()["duration_minutes"] == 90


def test_get_is_audited_and_clinician_sees_only_own(client, clinic):
    appointment_id = book(client, clinic).get_json()["id"]
    for user, status in [
        (clinic.owner, 200),
        (clinic.scheduler, 200),
        (clinic.clinician, 200),
        (clinic.other_clinician, 404),
        (make_user(make_practice(), ("owner",)), 404),
    ]:
        response = client.get(f"{URL}/{appointment_id}", headers=bearer(user))
        assert response.status_code == status
    assert len(audit_rows("appointment.read", object_id=appointment_id)) == 3
    assert audit_rows("access.denied", object_id=appointment_id)
    assert client.get(f"{URL}/not-a-uuid", headers=bearer(clinic.owner)).status_code == 404


def test_supervisor_only_and_anonymous_are_refused(client, clinic):
    supervisor = make_user(clinic.practice, ("supervisor",))
    assert_error(client.get(URL, headers=bearer(supervisor)), 403)
    assert_error(client.get(URL), 401)
    assert_error(client.post(URL, json=payload(clinic)), 401)


def test_clinician_books_only_own_for_assigned_clients(client, clinic):
    assert book(client, clinic, user=clinic.clinician).status_code == 201
    other_client = make_client(clinic.practice, clinic.other_clinician)
    settle()
    body = assert_error(
        book(
            client,
            clinic,
            user=clinic.clinician,
            client_id=str(other_client.id),
            start=at(MONDAY, 1),
        ),
        422,
    )
    assert body["errors"]["json"]["client_id"] == ["No such client."]
    body = assert_error(
        book(
            client,
            clinic,
            user=clinic.clinician,
            clinician_id=str(clinic.other_clinician.id),
            start=at(MONDAY, 2),
        ),
        422,
    )
    assert "clinician_id" in body["errors"]["json"]


def test_list_filters_and_order(client, clinic):
    for day in (2, 0, 1):
        assert book(client, clinic, start=at(MONDAY, day)).status_code == 201
    other = payload(clinic, start=at(MONDAY, 0, 2))
    other.update(client_id=str(clinic.other_client.id), clinician_id=str(clinic.other_clinician.id))
    assert client.post(URL, json=other, headers=bearer(clinic.owner)).status_code == 201

    def items(user, **params):
        response = client.get(URL, query_string=params, headers=bearer(user))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    everything = items(clinic.scheduler)
    assert everything["total"] == 4
    starts = [item["starts_at"] for item in everything["items"]]
    assert starts == sorted(starts)
    mine = items(clinic.clinician)
    assert mine["total"] == 3
    assert items(clinic.clinician, clinician_id=str(clinic.other_clinician.id))["total"] == 0
    week = items(
        clinic.owner,
        clinician_id=str(clinic.clinician.id),
        start=at(MONDAY, 1).isoformat(),
        end=at(MONDAY, 8).isoformat(),
    )
    assert week["total"] == 2
    # [start, end) overlap: an appointment running across `start` is included.
    day = items(clinic.owner, start=at(MONDAY, 0, 0, 30).isoformat(), end=at(MONDAY, 1).isoformat())
    assert day["total"] == 2
    assert items(clinic.owner, client_id=str(clinic.other_client.id))["total"] == 1
    assert items(clinic.owner, status="cancelled")["total"] == 0
    paged = items(clinic.owner, page=2, page_size=3)
    assert len(paged["items"]) == 1 and paged["total"] == 4
    assert audit_rows("appointment.list")


@pytest.mark.parametrize(
    "params",
    [
        {"status": "maybe"},
        {"start": "2031-01-06T10:00:00"},
        {"start": "2031-01-07T00:00:00Z", "end": "2031-01-06T00:00:00Z"},
        {"clinician_id": "nope"},
        {"page_size": 1000},
        {"start": "'; DROP TABLE appointments; --"},
    ],
)
def test_bad_list_arguments_are_422(client, clinic, params):
    assert_error(client.get(URL, query_string=params, headers=bearer(clinic.owner)), 422)


def _bad_bodies(clinic):
    foreign = make_practice()
    foreign_clinician = make_user(foreign, ("clinician",))
    foreign_client = make_client(foreign, foreign_clinician)
    discharged = make_client(clinic.practice, clinic.clinician, status="discharged")
    inactive = make_user(clinic.practice, ("clinician",))
    inactive.active = False
    scheduler = clinic.scheduler
    old_room = make_room(clinic.practice, "Old room", active=False)
    foreign_room = make_room(foreign)
    settle()
    base = payload(clinic)
    no_duration = {k: v for k, v in base.items() if k != "duration_minutes"}
    return [
        ({**base, "starts_at": "2031-01-06T10:00:00"}, "starts_at"),
        ({**base, "starts_at": "yesterday"}, "starts_at"),
        ({**base, "starts_at": "9999-12-31T23:59:00Z"}, "starts_at"),
        ({**base, "duration_minutes": 0}, "duration_minutes"),
        ({**base, "duration_minutes": -50}, "duration_minutes"),
        ({**base, "duration_minutes": 10**9}, "duration_minutes"),
        ({**base, "duration_minutes": "50"}, "duration_minutes"),
        (no_duration, "ends_at"),
        ({**no_duration, "ends_at": "2031-01-06T09:00:00Z"}, "ends_at"),
        ({**no_duration, "ends_at": "2031-01-06T10:00:00Z"}, "ends_at"),
        ({**no_duration, "ends_at": "2031-01-07T10:00:00Z"}, "ends_at"),
        ({**base, "ends_at": "2031-01-06T11:00:00Z"}, "ends_at"),
        ({**base, "kind": "séance"}, "kind"),
        ({**base, "modality": "x" * 10_000}, "modality"),
        ({**base, "client_id": str(foreign_client.id)}, "client_id"),
        ({**base, "client_id": str(discharged.id)}, "client_id"),
        ({**base, "client_id": "1 OR 1=1"}, "client_id"),
        ({**base, "clinician_id": str(foreign_clinician.id)}, "clinician_id"),
        ({**base, "clinician_id": str(inactive.id)}, "clinician_id"),
        ({**base, "clinician_id": str(scheduler.id)}, "clinician_id"),
        ({**base, "room_id": str(old_room.id)}, "room_id"),
        ({**base, "status": "attended"}, "status"),
        ({**base, "recurrence": {"every_weeks": 0, "count": 3}}, "recurrence"),
        ({**base, "recurrence": {"every_weeks": 1, "count": 0}}, "recurrence"),
        ({**base, "recurrence": {"every_weeks": 1, "count": 500}}, "recurrence"),
        ({**base, "recurrence": {"every_weeks": 1}}, "recurrence"),
        (
            {**base, "recurrence": {"every_weeks": 1, "count": 2, "until": "2031-03-01"}},
            "recurrence",
        ),
        ({**base, "recurrence": {"every_weeks": 1, "until": "2030-12-01"}}, "until"),
        ({**base, "recurrence": {"every_weeks": 1, "until": "2035-01-01"}}, "recurrence"),
        ({**base, "recurrence": {"every_weeks": 52, "count": 50}}, "recurrence"),
        ({**base, "room_id": str(foreign_room.id)}, "room_id"),
    ]


def test_bad_bodies_are_422_with_the_field_named_and_nothing_stored(client, clinic):
    before = count_appointments()
    for body, field in _bad_bodies(clinic):
        response = client.post(URL, json=body, headers=bearer(clinic.owner))
        error = assert_error(response, 422)
        assert field in error["errors"]["json"], (field, error)
    assert count_appointments() == before


def test_conflicts_list_every_clash_and_store_nothing(client, clinic):
    first = book(client, clinic, room_id=str(clinic.room.id)).get_json()
    clash = payload(clinic, start=at(MONDAY, 0, 0, 30), room_id=str(clinic.room.id))
    before = count_appointments()
    response = client.post(URL, json=clash, headers=bearer(clinic.owner))
    body = assert_error(response, 409)
    assert {(c["appointment_id"], c["reason"]) for c in body["conflicts"]} == {
        (first["id"], "clinician"),
        (first["id"], "client"),
        (first["id"], "room"),
    }
    assert body["conflicts"][0]["starts_at"] == first["starts_at"]
    assert count_appointments() == before
    assert audit_rows("appointment.create")[-1].outcome == "failure"


def test_back_to_back_is_allowed_and_cancelled_slots_are_free(client, clinic):
    first = book(client, clinic).get_json()
    assert book(client, clinic, start=at(MONDAY, 0, 0, 50)).status_code == 201
    assert book(client, clinic, start=at(MONDAY, 0, 0, -50)).status_code == 201
    assert book(client, clinic, start=MONDAY).status_code == 409
    cancel = {"status": "cancelled", "cancelled_by": "client", "cancel_reason": "Zug fällt aus"}
    response = client.patch(f"{URL}/{first['id']}", json=cancel, headers=bearer(clinic.scheduler))
    assert response.status_code == 200
    assert response.get_json()["cancelled_by"] == "client"
    assert book(client, clinic, start=MONDAY).status_code == 201


def test_move_checks_conflicts_and_other_practices_get_404(client, clinic):
    first = book(client, clinic).get_json()
    second = book(client, clinic, start=at(MONDAY, 0, 2)).get_json()
    url = f"{URL}/{second['id']}"
    body = assert_error(
        client.patch(
            url, json={"starts_at": at(MONDAY, 0, 0, 20).isoformat()}, headers=bearer(clinic.owner)
        ),
        409,
    )
    assert {c["appointment_id"] for c in body["conflicts"]} == {first["id"]}
    moved = client.patch(
        url,
        json={
            "starts_at": at(MONDAY, 0, 1).isoformat(),
            "duration_minutes": 90,
            "room_id": str(clinic.room.id),
            "modality": "video",
        },
        headers=bearer(clinic.clinician),
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["ends_at"] == at(MONDAY, 0, 2, 30).isoformat()
    stranger = make_user(make_practice(), ("owner",))
    settle()
    assert_error(client.patch(url, json={"kind": "couple"}, headers=bearer(stranger)), 404)
    assert_error(
        client.patch(url, json={"kind": "couple"}, headers=bearer(clinic.other_clinician)), 404
    )
    assert db.session.get(Appointment, uuid.UUID(second["id"])).kind == "individual"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"status": "showed_up"}, 422),
        ({"status": "scheduled"}, 409),  # it is scheduled: nothing to undo
        ({"status": "cancelled"}, 422),
        ({"status": "cancelled", "cancelled_by": "therapist's cat"}, 422),
        ({"status": "cancelled", "cancelled_by": "client", "cancel_reason": "x" * 501}, 422),
        ({"status": "attended", "cancelled_by": "client"}, 422),
        ({"status": "attended"}, 409),
        ({"status": "no_show"}, 409),
        ({"status": "late_cancelled", "cancelled_by": "client", "kind": "couple"}, 422),
        ({"ends_at": "2031-01-06T09:00:00Z"}, 422),
        ({"duration_minutes": 0}, 422),
        ({"starts_at": "2031-01-06T10:00:00"}, 422),
        ({"surprise": 1}, 422),
        ({}, 422),
        ({"room_id": "00000000-0000-0000-0000-000000000000"}, 422),
    ],
)
def test_bad_changes_are_refused_and_nothing_changes(client, clinic, change, code):
    appointment = book(client, clinic).get_json()
    response = client.patch(f"{URL}/{appointment['id']}", json=change, headers=bearer(clinic.owner))
    assert_error(response, code)
    row = db.session.get(Appointment, uuid.UUID(appointment["id"]))
    db.session.refresh(row)
    assert row.status == "scheduled" and row.starts_at.isoformat() == appointment["starts_at"]


def test_unknown_scope_and_scope_on_single_appointment_are_422(client, clinic):
    appointment = book(client, clinic).get_json()
    url = f"{URL}/{appointment['id']}"
    assert_error(
        client.patch(
            url + "?scope=everything", json={"kind": "couple"}, headers=bearer(clinic.owner)
        ),
        422,
    )
    assert_error(
        client.patch(url + "?scope=series", json={"kind": "couple"}, headers=bearer(clinic.owner)),
        422,
    )
    assert (
        client.patch(
            url + "?scope=this", json={"kind": "couple"}, headers=bearer(clinic.owner)
        ).status_code
        == 200
    )


def test_status_transitions(client, clinic, db):
    past = db.session.get(Appointment, uuid.UUID(book(client, clinic).get_json()["id"]))
    past.starts_at -= timedelta(days=3650)
    past.ends_at -= timedelta(days=3650)
    settle()
    url = f"{URL}/{past.id}"
    headers = bearer(clinic.clinician)

    def patch(body):
        return client.patch(url, json=body, headers=headers)

    assert patch({"status": "attended"}).get_json()["status"] == "attended"
    assert_error(patch({"status": "cancelled", "cancelled_by": "client"}), 409)
    assert patch({"status": "no_show"}).get_json()["status"] == "no_show"
    assert patch({"status": "attended"}).status_code == 200
    assert_error(patch({"starts_at": at(MONDAY, 5).isoformat()}), 409)
    later = book(client, clinic, start=at(MONDAY, 1)).get_json()
    url = f"{URL}/{later['id']}"
    assert patch({"status": "late_cancelled", "cancelled_by": "clinician"}).status_code == 200
    assert_error(patch({"status": "attended"}), 409)
    assert_error(patch({"status": "cancelled", "cancelled_by": "client"}), 409)
    assert len(audit_rows("appointment.status")) == 4
