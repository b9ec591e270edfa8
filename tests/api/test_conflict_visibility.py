"""A booking's 409 names only appointments the caller may read (SECURITY 36, issue 16):
owners and schedulers see every clash with its id and times; a clinician sees their own
appointments so, and of a colleague's only that one holds the client or room (the
reason, `hidden: true`) — the same appointment they get 404 for."""

from __future__ import annotations

import pytest
from flask import current_app

from practice.clients.models import CareTeamMember
from practice.extensions import db
from tests.factories import bearer, make_client
from tests.helpers import assert_error, settle
from tests.scheduling.helpers import MONDAY, at, make_clinic, payload

URL = "/api/v1/appointments"


@pytest.fixture
def scene():
    """The colleague's session with the clinician's client in the room at 10:00, the
    clinician's own session with another of their clients at 10:30."""
    clinic = make_clinic()
    second = make_client(clinic.practice, clinic.clinician)
    # The colleague shares the client's care (a booking needs the clinician in the care).
    db.session.add(CareTeamMember(client_id=clinic.client.id, user_id=clinic.other_clinician.id))
    settle()
    theirs = _book(
        clinic.owner,
        payload(clinic, clinician_id=str(clinic.other_clinician.id), room_id=str(clinic.room.id)),
    )
    own = _book(
        clinic.owner, payload(clinic, start=at(MONDAY, minutes=30), client_id=str(second.id))
    )
    return clinic, theirs, own


def _book(user, body) -> dict:
    response = current_app.test_client().post(URL, json=body, headers=bearer(user))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _clash(clinic) -> dict:
    """The clinician at 10:20 with their client in the room: clashes with both."""
    return payload(clinic, start=at(MONDAY, minutes=20), room_id=str(clinic.room.id))


def test_a_clinician_sees_only_that_a_colleagues_appointment_clashes(client, scene):
    clinic, theirs, own = scene
    response = client.post(URL, json=_clash(clinic), headers=bearer(clinic.clinician))
    body = assert_error(response, 409)
    assert body["conflicts"] == [
        {
            "appointment_id": own["id"],
            "starts_at": own["starts_at"],
            "ends_at": own["ends_at"],
            "reason": "clinician",
        },
        {"reason": "client", "hidden": True},
        {"reason": "room", "hidden": True},
    ]
    text = response.get_data(as_text=True)
    assert theirs["id"] not in text and theirs["starts_at"] not in text
    assert theirs["ends_at"] not in text and str(clinic.other_clinician.id) not in text
    # … the appointment they get 404 for.
    assert_error(client.get(f"{URL}/{theirs['id']}", headers=bearer(clinic.clinician)), 404)


@pytest.mark.parametrize("who", ["owner", "scheduler"])
def test_owners_and_schedulers_see_every_clash(client, scene, who):
    clinic, theirs, own = scene
    body = assert_error(
        client.post(URL, json=_clash(clinic), headers=bearer(getattr(clinic, who))), 409
    )
    assert {(c["appointment_id"], c["reason"]) for c in body["conflicts"]} == {
        (own["id"], "clinician"),
        (theirs["id"], "client"),
        (theirs["id"], "room"),
    }
    assert all("hidden" not in c and c["starts_at"] for c in body["conflicts"])


def test_a_clinician_moving_their_appointment_sees_no_colleagues_times(client, scene):
    clinic, theirs, own = scene
    response = client.patch(
        f"{URL}/{own['id']}",
        json={"starts_at": at(MONDAY, minutes=-10).isoformat(), "room_id": str(clinic.room.id)},
        headers=bearer(clinic.clinician),
    )
    body = assert_error(response, 409)
    assert body["conflicts"] == [{"reason": "room", "hidden": True}]
    assert theirs["id"] not in response.get_data(as_text=True)


def test_several_hidden_clashes_of_one_reason_are_one_entry(client, scene):
    """How many of a colleague's appointments clash is not shown either."""
    clinic, _theirs, own = scene
    _book(
        clinic.owner,
        payload(
            clinic,
            start=at(MONDAY, minutes=50),
            clinician_id=str(clinic.other_clinician.id),
            client_id=str(clinic.other_client.id),
            room_id=str(clinic.room.id),
        ),
    )
    body = payload(clinic, start=at(MONDAY, minutes=-30), minutes=180, room_id=str(clinic.room.id))
    response = client.post(URL, json=body, headers=bearer(clinic.clinician))
    conflicts = assert_error(response, 409)["conflicts"]
    assert [c for c in conflicts if c.get("hidden")] == [
        {"reason": "client", "hidden": True},
        {"reason": "room", "hidden": True},
    ]
    assert [c["appointment_id"] for c in conflicts if not c.get("hidden")] == [own["id"]]
