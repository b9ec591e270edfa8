"""A booking names a clinician in the client's care (issue 12): otherwise the clinician
would see the appointment and get "No such client." opening its client. The API refuses
with a 422 on clinician_id that says what to do; once the clinician is on the care team
the same booking goes through and the clinician can open the client."""

from __future__ import annotations

import pytest

from tests.factories import bearer
from tests.helpers import assert_error
from tests.scheduling.helpers import make_clinic, payload

URL = "/api/v1/appointments"


@pytest.mark.parametrize("who", ["owner", "scheduler"])
def test_a_clinician_outside_the_care_is_refused_with_what_to_do(client, who):
    clinic = make_clinic()
    body = payload(clinic, clinician_id=str(clinic.other_clinician.id))
    response = client.post(URL, json=body, headers=bearer(getattr(clinic, who)))
    refused = assert_error(response, 422)
    words = refused["errors"]["json"]["clinician_id"][0]
    assert "not in the client's care" in words and "care team" in words
    listed = client.get(URL, headers=bearer(clinic.other_clinician)).get_json()
    assert listed["total"] == 0

    added = client.patch(
        f"/api/v1/clients/{clinic.client.id}",
        json={"care_team_ids": [str(clinic.other_clinician.id)]},
        headers=bearer(getattr(clinic, who)),
    )
    assert added.status_code == 200, added.get_json()
    booked = client.post(URL, json=body, headers=bearer(getattr(clinic, who)))
    assert booked.status_code == 201, booked.get_json()
    seen = client.get(f"/api/v1/clients/{clinic.client.id}", headers=bearer(clinic.other_clinician))
    assert seen.status_code == 200


def test_the_primary_clinician_needs_no_care_team_entry(client):
    clinic = make_clinic()
    response = client.post(URL, json=payload(clinic), headers=bearer(clinic.scheduler))
    assert response.status_code == 201, response.get_json()


def test_free_slots_offer_the_next_free_days_at_the_same_time(client):
    from tests.scheduling.helpers import MONDAY, at

    clinic = make_clinic()
    taken = client.post(URL, json=payload(clinic), headers=bearer(clinic.scheduler))
    assert taken.status_code == 201
    # Tuesday is taken too (the client elsewhere), so Wednesday comes first.
    other = payload(clinic, start=at(MONDAY, days=1), clinician_id=str(clinic.clinician.id))
    assert client.post(URL, json=other, headers=bearer(clinic.scheduler)).status_code == 201
    query = {
        "client_id": str(clinic.client.id),
        "clinician_id": str(clinic.clinician.id),
        "starts_at": MONDAY.isoformat(),
        "duration_minutes": 50,
    }
    found = client.get(f"{URL}/free-slots", query_string=query, headers=bearer(clinic.scheduler))
    assert found.status_code == 200, found.get_json()
    assert found.get_json()["starts_at"][:3] == [
        at(MONDAY, days=2).isoformat(),
        at(MONDAY, days=3).isoformat(),
        at(MONDAY, days=4).isoformat(),
    ]
    series = {**query, "every_weeks": 1, "count": 2, "offers": 1}
    one = client.get(f"{URL}/free-slots", query_string=series, headers=bearer(clinic.scheduler))
    assert one.get_json()["starts_at"] == [at(MONDAY, days=2).isoformat()]
    for bad in (
        {**query, "client_id": "nope"},
        {**query, "every_weeks": 1},
        {**query, "count": 2},
        {**query, "starts_at": "2031-01-06T10:00:00"},
        {**query, "offers": 0},
    ):
        assert_error(
            client.get(f"{URL}/free-slots", query_string=bad, headers=bearer(clinic.scheduler)),
            422,
        )
    refused = client.get(
        f"{URL}/free-slots",
        query_string={**query, "clinician_id": str(clinic.other_clinician.id)},
        headers=bearer(clinic.scheduler),
    )
    assert "not in the client's care" in str(assert_error(refused, 422))
