"""Shared setup for the clinical record's tests: a team with an attended appointment,
and calls that write a plan and a progress note over the API."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from practice.database import utcnow
from tests.factories import make_appointment
from tests.helpers import auth, settle

PLAN = {
    "problems": ["Low mood since the separation"],
    "goals": [
        {
            "text": "Notice the script as it happens",
            "objectives": [
                {"text": "Names it in session twice a month", "target_date": "2027-03-01"}
            ],
        }
    ],
    "interventions": ["Exploration of the transference"],
    "session_frequency": "weekly",
}


_hours = count()


def session_for(client, clinician, days_ago: int = 2, **kwargs):
    """An attended appointment of `client`, committed; each at another hour, so one
    clinician's sessions never overlap (PostgreSQL refuses that)."""
    start = utcnow().replace(microsecond=0, second=0) - timedelta(days=days_ago, hours=next(_hours))
    appointment = make_appointment(client, clinician, starts_at=start, status="attended", **kwargs)
    settle()
    return appointment


def signed_plan(http, team, content: dict | None = None) -> dict:
    """A plan written and signed by the team's author over the API."""
    created = http.post(
        f"/api/v1/clients/{team.client.id}/treatment-plans",
        json={"content": content or PLAN, "review_date": "2027-06-01"},
        headers=auth(team.author),
    )
    assert created.status_code == 201, created.get_json()
    plan = created.get_json()
    signed = http.post(
        f"/api/v1/treatment-plans/{plan['id']}/sign",
        headers={**auth(team.author), "If-Match": '"1"'},
    )
    assert signed.status_code == 200, signed.get_json()
    return signed.get_json()


def draft_note(http, team, appointment, content: dict | None = None, user=None):
    """POST a progress note draft for `appointment`; the response."""
    return http.post(
        f"/api/v1/clients/{team.client.id}/progress-notes",
        json={"appointment_id": str(appointment.id), "content": content or {}},
        headers=auth(user or team.author),
    )
