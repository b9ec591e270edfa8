"""A signed progress note shows its session (date, times, kind, modality, attendance) from
the appointment, so the appointment of a signed note cannot change any more: the front
desk moving, re-kinding or cancelling it would rewrite what the signed record says."""

from __future__ import annotations

from datetime import timedelta

import pytest

from practice.database import utcnow
from tests.factories import make_appointment
from tests.helpers import assert_error, assert_page, auth, csrf_of, settle, sign_in
from tests.record.helpers import draft_note, session_for

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def _unmarked_session(team, start):
    """A session that began and that nobody marked attended: still "scheduled"."""
    appointment = make_appointment(team.client, team.author, starts_at=start)
    settle()
    return appointment


def _signed_note_for(client, team, appointment) -> dict:
    note = draft_note(client, team, appointment, {"service_code": "90834"}).get_json()
    signed = client.post(
        f"/api/v1/progress-notes/{note['id']}/sign",
        headers={**auth(team.author), "If-Match": '"1"'},
    )
    assert signed.status_code == 200, signed.get_json()
    return signed.get_json()


CHANGES = [
    {"duration_minutes": 30},
    {"modality": "video"},
    {"kind": "couple"},
    {"starts_at": "MOVED"},
    {"status": "cancelled", "cancelled_by": "client"},
    {"status": "late_cancelled", "cancelled_by": "clinician"},
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: next(iter(c)) + str(c.get("status", "")))
def test_the_session_of_a_signed_progress_note_cannot_change(client, db, team, change):
    start = utcnow().replace(microsecond=0, second=0) - timedelta(hours=1)
    appointment = _unmarked_session(team, start)
    appointment_id = appointment.id
    note = _signed_note_for(client, team, appointment)
    before = note["session"]
    body = dict(change)
    if body.get("starts_at") == "MOVED":
        body["starts_at"] = (start + timedelta(days=1)).isoformat()
    for user in (team.scheduler, team.owner, team.author):
        refused = client.patch(
            f"/api/v1/appointments/{appointment_id}", json=body, headers=auth(user)
        )
        assert "signed progress note" in assert_error(refused, 409)["message"]
    after = client.get(f"/api/v1/progress-notes/{note['id']}", headers=auth(team.author))
    assert after.get_json()["session"] == before


def test_an_attended_session_with_a_signed_note_is_not_turned_into_a_no_show(client, db, team):
    appointment = session_for(team.client, team.author)
    note = _signed_note_for(client, team, appointment)
    refused = client.patch(
        f"/api/v1/appointments/{appointment.id}",
        json={"status": "no_show"},
        headers=auth(team.scheduler),
    )
    assert "signed progress note" in assert_error(refused, 409)["message"]
    shown = client.get(f"/api/v1/progress-notes/{note['id']}", headers=auth(team.author))
    assert shown.get_json()["session"]["status"] == "attended"


def test_a_signed_session_is_still_marked_attended(client, db, team):
    appointment = _unmarked_session(team, utcnow().replace(microsecond=0) - timedelta(hours=1))
    note = _signed_note_for(client, team, appointment)
    marked = client.patch(
        f"/api/v1/appointments/{appointment.id}",
        json={"status": "attended"},
        headers=auth(team.author),
    )
    assert marked.status_code == 200, marked.get_json()
    shown = client.get(f"/api/v1/progress-notes/{note['id']}", headers=auth(team.author))
    assert shown.get_json()["session"]["status"] == "attended"


def test_the_session_of_a_draft_still_moves(client, db, team):
    appointment = _unmarked_session(team, utcnow().replace(microsecond=0) - timedelta(hours=1))
    draft_note(client, team, appointment)
    moved = client.patch(
        f"/api/v1/appointments/{appointment.id}",
        json={"duration_minutes": 30},
        headers=auth(team.scheduler),
    )
    assert moved.status_code == 200, moved.get_json()


def test_the_front_desk_page_says_why_and_changes_nothing(app, client, db, team):
    appointment = _unmarked_session(team, utcnow().replace(microsecond=0) - timedelta(hours=1))
    _signed_note_for(client, team, appointment)
    desk = app.test_client()
    sign_in(desk, team.scheduler)
    refused = desk.post(
        f"/bookings/{appointment.id}/status",
        data={"csrf_token": csrf_of(desk), "status": "cancelled", "cancelled_by": "client"},
    )
    assert "signed progress note" in assert_page(refused, 409)
    db.session.refresh(appointment)
    assert appointment.status == "scheduled"


def test_a_note_is_not_signed_before_its_session_or_for_a_cancelled_one(client, db, team):
    """Else a clinician could lock the front desk out of a future booking by signing."""
    later = _unmarked_session(team, utcnow().replace(microsecond=0) + timedelta(days=2))
    note = draft_note(client, team, later, {"service_code": "90834"}).get_json()
    sign = f"/api/v1/progress-notes/{note['id']}/sign"
    early = client.post(sign, headers={**auth(team.author), "If-Match": '"1"'})
    assert "has begun" in assert_error(early, 409)["message"]
    cancel = {"status": "cancelled", "cancelled_by": "client"}
    moved = client.patch(
        f"/api/v1/appointments/{later.id}", json=cancel, headers=auth(team.scheduler)
    )
    assert moved.status_code == 200, moved.get_json()
    late = client.post(sign, headers={**auth(team.author), "If-Match": '"1"'})
    assert "cancelled" in assert_error(late, 409)["message"]
