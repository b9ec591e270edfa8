"""The appointment list builds its items without marshmallow (issue 15: the dump cost
more than the query); each item must stay exactly what AppointmentSchema dumps, for
every reader (the cancellation words only for the client's clinician)."""

from __future__ import annotations

import uuid

import pytest
from flask_login import login_user

from practice.api.appointments import AppointmentSchema
from practice.extensions import db
from practice.scheduling.models import Appointment
from tests.factories import bearer
from tests.scheduling.helpers import MONDAY, at, make_clinic, payload

URL = "/api/v1/appointments"


@pytest.fixture
def clinic():
    return make_clinic()


def _book(client, clinic, body: dict) -> str:
    response = client.post(URL, json=body, headers=bearer(clinic.owner))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def test_listed_items_are_what_the_schema_dumps(app, client, clinic):
    _book(client, clinic, payload(clinic, room_id=str(clinic.room.id)))
    _book(client, clinic, payload(clinic, start=at(MONDAY, days=1), recurrence={
        "every_weeks": 1, "count": 3}))  # fmt: skip
    cancelled = _book(client, clinic, payload(clinic, start=at(MONDAY, days=2, hours=3)))
    response = client.patch(
        f"{URL}/{cancelled}",
        json={
            "status": "cancelled",
            "cancelled_by": "client",
            "cancel_category": "illness",
            "cancel_reason": "Ill",
        },
        headers=bearer(clinic.scheduler),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    for reader in (clinic.clinician, clinic.owner, clinic.scheduler):
        listed = client.get(URL, headers=bearer(reader))
        assert listed.status_code == 200
        body = listed.get_json()
        assert body["total"] == 5 and len(body["items"]) == 5
        assert {"page": body["page"], "page_size": body["page_size"]} == {
            "page": 1,
            "page_size": 50,
        }
        db.session.expire_all()
        with app.test_request_context():
            login_user(reader)
            expected = [
                AppointmentSchema().dump(db.session.get(Appointment, uuid.UUID(item["id"])))
                for item in body["items"]
            ]
        assert body["items"] == expected
        reasons = [item["cancel_reason"] for item in body["items"] if item["cancel_reason"]]
        assert reasons == (["Ill"] if reader is clinic.clinician else [])
