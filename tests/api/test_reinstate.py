"""Undoing a cancellation (PATCH status "scheduled"): only while the slot is still free,
else 409 with the conflicts the caller may see; audited like every status change."""

from __future__ import annotations

import pytest

from tests.factories import bearer
from tests.helpers import assert_error, audit_rows, settle
from tests.scheduling.helpers import MONDAY, at, make_clinic, payload

URL = "/api/v1/appointments"


@pytest.fixture
def clinic():
    return make_clinic()


def _book(client, user, body) -> dict:
    response = client.post(URL, json=body, headers=bearer(user))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _patch(client, user, appointment_id, body, query=""):
    return client.patch(f"{URL}/{appointment_id}{query}", json=body, headers=bearer(user))


@pytest.mark.parametrize("status", ["cancelled", "late_cancelled"])
@pytest.mark.parametrize("who", ["scheduler", "clinician", "owner"])
def test_a_cancellation_is_undone_while_the_slot_is_free(client, clinic, status, who):
    booked = _book(client, clinic.owner, payload(clinic, room_id=str(clinic.room.id)))
    cancel = {"status": status, "cancelled_by": "client", "cancel_category": "illness",
              "cancel_reason": "unwell"}  # fmt: skip
    assert _patch(client, clinic.scheduler, booked["id"], cancel).status_code == 200
    response = _patch(client, getattr(clinic, who), booked["id"], {"status": "scheduled"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "scheduled" and body["status_changed_at"]
    assert (body["cancelled_by"], body["cancel_category"], body["cancel_reason"]) == (None,) * 3
    assert body["has_cancel_reason"] is False
    assert [row.outcome for row in audit_rows("appointment.status")] == ["success", "success"]
    # It holds its slot again.
    assert_error(client.post(URL, json=payload(clinic), headers=bearer(clinic.owner)), 409)


def test_a_taken_slot_is_409_with_what_the_caller_may_see(client, clinic):
    """The colleague booked the room meanwhile: the owner is told which appointment, the
    clinician only that one holds the room."""
    mine = _book(client, clinic.owner, payload(clinic, room_id=str(clinic.room.id)))
    _patch(client, clinic.clinician, mine["id"], {"status": "cancelled", "cancelled_by": "client"})
    theirs = _book(
        client,
        clinic.owner,
        payload(
            clinic,
            start=at(MONDAY, minutes=10),
            clinician_id=str(clinic.other_clinician.id),
            client_id=str(clinic.other_client.id),
            room_id=str(clinic.room.id),
        ),
    )
    undo = {"status": "scheduled"}
    owner_view = assert_error(_patch(client, clinic.owner, mine["id"], undo), 409)
    assert [(c["appointment_id"], c["reason"]) for c in owner_view["conflicts"]] == [
        (theirs["id"], "room")
    ]
    response = _patch(client, clinic.clinician, mine["id"], undo)
    assert assert_error(response, 409)["conflicts"] == [{"reason": "room", "hidden": True}]
    assert theirs["id"] not in response.get_data(as_text=True)
    settle()
    stored = client.get(f"{URL}/{mine['id']}", headers=bearer(clinic.owner)).get_json()
    assert stored["status"] == "cancelled" and stored["cancelled_by"] == "client"
    assert [r.outcome for r in audit_rows("appointment.update")] == ["failure", "failure"]


@pytest.mark.parametrize(
    ("first", "body", "query", "code"),
    [
        (None, {"status": "scheduled"}, "", 409),  # scheduled already
        ("attended", {"status": "scheduled"}, "", 409),
        ("cancelled", {"status": "scheduled", "cancelled_by": "client"}, "", 422),
        ("cancelled", {"status": "scheduled", "cancel_reason": "x"}, "", 422),
        ("cancelled", {"status": "scheduled"}, "?scope=series", 422),
    ],
)
def test_refused_undos(client, clinic, first, body, query, code):
    recurrence = {"every_weeks": 1, "count": 2} if query else None
    start = at(MONDAY, days=-4000) if first == "attended" else MONDAY
    extra = {"recurrence": recurrence} if recurrence else {}
    booked = _book(client, clinic.owner, payload(clinic, start=start, **extra))
    if first:
        change = {"status": first}
        if first == "cancelled":
            change["cancelled_by"] = "client"
        assert _patch(client, clinic.owner, booked["id"], change).status_code == 200
    assert_error(_patch(client, clinic.owner, booked["id"], body, query), code)


def test_a_discharged_clients_cancellation_stays(client, clinic):
    booked = _book(client, clinic.owner, payload(clinic))
    _patch(client, clinic.owner, booked["id"], {"status": "cancelled", "cancelled_by": "client"})
    clinic.client.status = "discharged"
    settle()
    response = _patch(client, clinic.owner, booked["id"], {"status": "scheduled"})
    assert "discharged" in assert_error(response, 409)["message"]
