"""The front desk's scheduling pages: the practice's day (clinicians and rooms), a
clinician's week, booking in local time (DST gaps and folds in plain words), conflicts
with offered free times, a clinician outside the client's care, series edits with the
scope said beforehand, cancel / late-cancel / no-show and undo; bad input and other
practices' ids answer 4xx pages; clinicians and supervisors get the 404 page."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from practice.audit.models import AuditEntry
from practice.database import utcnow
from practice.extensions import db
from practice.scheduling.models import Appointment, Room
from tests.factories import make_appointment
from tests.helpers import assert_page, csrf_of, hidden, settle, sign_in, title

# A Monday well ahead; Berlin goes to summer time on Sun 29 Mar 2037 and back on 25 Oct.
MONDAY = date(2037, 3, 16)


@pytest.fixture
def room(team) -> Room:
    made = Room(practice_id=team.practice.id, name="Garden room")
    db.session.add(made)
    settle()
    return made


def _form(team, room=None, **extra) -> dict:
    data = {
        "client_id": str(team.client.id),
        "clinician_id": str(team.author.id),
        "room_id": str(room.id) if room else "",
        "kind": "individual",
        "modality": "in_person",
        "date": MONDAY.isoformat(),
        "time": "10:00",
        "duration_minutes": "50",
        "action": "book",
    }
    data.update(extra)
    return data


def _book(client, token, team, room=None, **extra):
    return client.post("/bookings/new", data={"csrf_token": token, **_form(team, room, **extra)})


def _booked(client, team, room=None, **extra) -> Appointment:
    response = _book(client, csrf_of(client), team, room, **extra)
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    appointment_id = response.headers["Location"].split("/")[2].split("?")[0]
    return db.session.get(Appointment, uuid.UUID(appointment_id))


def _series(team, **filters):
    return db.session.scalars(
        sa.select(Appointment)
        .where(Appointment.client_id == team.client.id, *filters)
        .order_by(Appointment.starts_at)
    ).all()


@pytest.mark.parametrize("who", ["scheduler", "owner"])
def test_the_day_shows_every_clinician_with_free_hours_and_no_clinical_detail(client, team, who):
    start = datetime(2037, 3, 16, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    shown = make_appointment(team.client, team.author, starts_at=start)
    make_appointment(team.foreign_client, team.stranger, starts_at=start)
    gone = make_appointment(
        team.other_client, team.author, starts_at=start + timedelta(hours=3), status="cancelled"
    )
    settle()
    sign_in(client, getattr(team, who))
    home = client.get("/")
    assert home.headers["Location"] == "/day"
    assert client.get("/day").headers["Location"].startswith("/day/")
    page = assert_page(client.get(f"/day/{MONDAY}"))
    assert title(page) == "Day — 16 Mar 2037 · practice"
    assert team.author.name in page and team.co_clinician.name in page
    assert team.stranger.name not in page and team.foreign_client.last_name not in page
    assert f'id="a-{shown.id}"' in page and "10:00\u201310:50" in page
    assert f'id="a-{gone.id}"' in page and "status-cancelled" in page and "1 cancelled" in page
    assert team.client.last_name in page and 'class="free"' in page
    assert "/notes" not in page and "/themes" not in page
    assert f'href="/clients/{team.client.id}' not in page  # the clinical client page
    assert f'href="/desk/clients/{team.client.id}"' in page  # the front desk's one
    assert "Nothing is booked on this day yet." in assert_page(client.get("/day/2037-03-22"))
    rooms = assert_page(client.get(f"/day/{MONDAY}/rooms"))
    assert "No rooms are set up yet." in rooms
    week = assert_page(client.get(f"/clinicians/{team.author.id}/week/{MONDAY}"))
    assert f'id="a-{shown.id}"' in week and "Mon 16 Mar" in week
    assert f'href="/desk/clients/{team.client.id}"' in week
    assert f'href="/bookings/new?clinician_id={team.author.id}">Book with' in week
    assert client.get(f"/day?day={MONDAY}").headers["Location"] == f"/day/{MONDAY}"
    assert client.get(f"/day?day={MONDAY}&view=rooms").headers["Location"] == f"/day/{MONDAY}/rooms"
    for bad in ("/day/2037-02-30", "/day/yesterday", "/day/1999-12-31", "/day/2037-03-16/roomz"):
        assert_page(client.get(bad), 404)
    assert_page(client.get("/day?day=16.03.2037"), 400)
    assert_page(client.get(f"/clinicians/{team.stranger.id}/week"), 404)
    assert_page(client.get(f"/clinicians/{team.scheduler.id}/week"), 404)
    audited = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.actor_id == getattr(team, who).id)
    ).all()
    assert "appointment.list" in audited


@pytest.mark.parametrize("who", ["author", "supervisor"])
def test_clinicians_and_supervisors_get_the_404_page(client, team, who):
    appointment = make_appointment(team.client, team.author)
    settle()
    sign_in(client, getattr(team, who))
    token = csrf_of(client)
    for path in (
        "/day",
        f"/day/{MONDAY}",
        f"/day/{MONDAY}/rooms",
        f"/clinicians/{team.author.id}/week",
        "/bookings/new",
        f"/bookings/{appointment.id}",
    ):
        assert_page(client.get(path), 404)
    assert_page(_book(client, token, team), 404)
    for action in ("change", "status", "undo"):
        assert_page(
            client.post(f"/bookings/{appointment.id}/{action}", data={"csrf_token": token}), 404
        )


def test_a_weekly_series_across_the_spring_change_stays_at_ten(client, team, room):
    sign_in(client, team.scheduler)
    first = _booked(client, team, room, every_weeks="1", count="4")
    series = _series(team)
    assert len(series) == 4 and first.id == series[0].id
    hours = [a.starts_at.replace(tzinfo=UTC).hour for a in series]
    assert hours == [9, 9, 8, 8]  # 10:00 in winter (UTC+1), 10:00 in summer (UTC+2)
    page = assert_page(client.get(f"/bookings/{first.id}?done=booked&n=4"))
    assert "Booked: 4 appointments." in page and "appointment 1 of a series" in page
    summer = assert_page(client.get("/day/2037-04-06"))
    assert "10:00\u201310:50" in summer


def test_a_time_that_does_not_exist_or_happens_twice_is_said_in_plain_words(client, team):
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    gap = assert_page(_book(client, token, team, date="2037-03-29", time="02:30"), 422)
    assert "02:30 does not exist on Sun 29 Mar 2037" in gap and "such as 03:30" in gap
    fold = assert_page(_book(client, token, team, date="2037-10-25", time="02:30"), 422)
    assert "02:30 happens twice on Sun 25 Oct 2037" in fold
    assert 'name="fold" value="first"' in fold and "UTC+02:00" in fold and "UTC+01:00" in fold
    assert _series(team) == []
    second = _booked(client, team, date="2037-10-25", time="02:30", fold="second")
    assert second.starts_at.replace(tzinfo=UTC) == datetime(2037, 10, 25, 1, 30, tzinfo=UTC)
    # The appointment's page says which 02:30 it is, in words and with the offset.
    page = assert_page(client.get(f"/bookings/{second.id}"))
    assert "02:30 (second, UTC+01:00, after the clocks go back)" in page
    assert "(first," not in page
    first = _booked(client, team, date="2037-10-25", time="02:30", fold="first")
    page = assert_page(client.get(f"/bookings/{first.id}"))
    assert "02:30 (first, UTC+02:00, before the clocks go back)" in page
    assert "02:20 (second, UTC+01:00" in page  # 50 minutes later is the second 02:20


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"date": "2037-02-30"}, "Enter a date (YYYY-MM-DD)."),
        ({"date": "1999-01-01"}, "That date is out of range."),
        ({"time": "25:00"}, "Enter a time as HH:MM"),
        ({"time": "10:00:30"}, "Enter a time as HH:MM"),
        ({"duration_minutes": "ten"}, "Enter a whole number."),
        ({"duration_minutes": "0"}, "Must be greater than or equal to 1"),
        ({"duration_minutes": "721"}, "less than or equal to 720"),
        ({"kind": "party"}, "Must be one of"),
        ({"client_id": ""}, "Missing data for required field."),
        ({"client_id": "not-an-id"}, "Not a valid UUID."),
        ({"every_weeks": "1"}, "Give exactly one of count and until."),
        ({"every_weeks": "1", "count": "200"}, "less than or equal to 104"),
        ({"every_weeks": "1", "until": "2037-03-01"}, "Must not be before the first appointment."),
        ({"take": "not a time"}, "The offered time could not be read"),
    ],
)
def test_bad_booking_input_is_a_422_page_keeping_the_form(client, team, extra, words):
    sign_in(client, team.scheduler)
    page = assert_page(_book(client, csrf_of(client), team, **extra), 422)
    assert words in page, page[-3000:]
    assert "Nothing was booked" in page and _series(team) == []


def test_other_practices_ids_and_a_missing_csrf_token_are_refused(client, team, room):
    elsewhere = Room(practice_id=team.stranger.practice_id, name="Their room")
    db.session.add(elsewhere)
    settle()
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    foreign = _book(client, token, team, client_id=str(team.foreign_client.id))
    assert "No such client." in assert_page(foreign, 422)
    assert team.foreign_client.last_name not in foreign.get_data(as_text=True)
    stranger = _book(client, token, team, clinician_id=str(team.stranger.id))
    assert "No such clinician." in assert_page(stranger, 422)
    their_room = _book(client, token, team, room_id=str(elsewhere.id))
    assert "No such room." in assert_page(their_room, 422)
    forged = client.post("/bookings/new", data=_form(team))
    assert "did not come from this site" in assert_page(forged, 403)
    theirs = make_appointment(team.foreign_client, team.stranger)
    settle()
    assert_page(client.get(f"/bookings/{theirs.id}"), 404)
    assert_page(client.post(f"/bookings/{theirs.id}/undo", data={"csrf_token": token}), 404)
    assert _series(team) == []


def test_client_search_finds_by_name_without_names_in_the_url(client, team):
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    found = client.post(
        "/bookings/new",
        data={"csrf_token": token, "action": "find", "client_q": team.client.last_name},
    )
    page = assert_page(found)
    assert f'value="{team.client.id}"' in page and team.foreign_client.last_name not in page
    none = assert_page(
        client.post("/bookings/new", data={"csrf_token": token, "action": "find", "client_q": "zz"})
    )
    assert "No client matches that name." in none
    prefilled = assert_page(
        client.get(f"/bookings/new?clinician_id={team.author.id}&date={MONDAY}&time=09:00")
    )
    assert 'value="09:00"' in prefilled and f'value="{MONDAY}"' in prefilled


def test_a_conflict_lists_what_is_in_the_way_and_an_offered_time_books(client, team, room):
    taken = make_appointment(
        team.other_client, team.author, starts_at=datetime(2037, 3, 16, 9, 0, tzinfo=UTC)
    )
    taken.room_id = room.id  # in the way twice: one line says both
    # The next day is taken too, so the first offer is Wednesday.
    make_appointment(
        team.other_client, team.author, starts_at=datetime(2037, 3, 17, 9, 30, tzinfo=UTC)
    )
    settle()
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    response = _book(client, token, team, room)
    page = assert_page(response, 409)
    assert "The time is taken." in page
    assert "the clinician is booked and the room is taken" in page
    assert page.count("Mon 16 Mar 2037, 10:00\u201310:50") == 1
    assert team.other_client.last_name in page and "Mon 16 Mar 2037, 10:00\u201310:50" in page
    assert "Book Wed 18 Mar 2037, 10:00" in page
    assert "Book Thu 19 Mar 2037, 10:00" in page and "Book Fri 20 Mar 2037, 10:00" in page
    assert "Sat 21" not in page  # weekends are offered only for a weekend booking
    offer = hidden(page.split("Free at the same time of day")[1], "take")
    assert offer == "2037-03-18T09:00:00+00:00"
    taking = client.post(
        "/bookings/new", data={"csrf_token": token, **_form(team, room), "take": offer}
    )
    assert taking.status_code == 302
    booked = _series(team)
    assert [a.starts_at.replace(tzinfo=UTC) for a in booked] == [
        datetime(2037, 3, 18, 9, 0, tzinfo=UTC)
    ]
    assert booked[0].room_id == room.id and taken.status == "scheduled"
    refusals = db.session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.action == "appointment.create", AuditEntry.outcome == "failure"
        )
    ).all()
    assert refusals


def test_a_series_conflict_offers_starts_where_the_whole_series_is_free(client, team):
    make_appointment(
        team.other_client, team.author, starts_at=datetime(2037, 3, 30, 8, 0, tzinfo=UTC)
    )
    settle()
    sign_in(client, team.scheduler)
    page = assert_page(_book(client, csrf_of(client), team, every_weeks="1", count="3"), 409)
    assert "The whole series is free when it starts on:" in page
    # Starting Tue 17 Mar the series meets Mon 30 Mar no more.
    assert "Book Tue 17 Mar 2037, 10:00" in page


def test_booking_a_clinician_outside_the_clients_care_asks_to_add_them(client, team):
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    asked = assert_page(_book(client, token, team, clinician_id=str(team.colleague.id)), 422)
    assert f"{team.colleague.name} is not in" in asked and 'name="add_to_care"' in asked
    assert _series(team) == []
    booked = _booked(client, team, clinician_id=str(team.colleague.id), add_to_care="yes")
    assert booked.clinician_id == team.colleague.id
    db.session.refresh(team.client)
    assert team.colleague.id in team.client.care_team_ids


def test_a_refused_booking_does_not_add_to_the_care_team(client, team):
    make_appointment(
        team.other_client, team.colleague, starts_at=datetime(2037, 3, 16, 9, 0, tzinfo=UTC)
    )
    settle()
    sign_in(client, team.scheduler)
    response = _book(
        client, csrf_of(client), team, clinician_id=str(team.colleague.id), add_to_care="yes"
    )
    assert_page(response, 409)
    db.session.expire_all()
    assert team.colleague.id not in db.session.get(type(team.client), team.client.id).care_team_ids


def test_moving_one_occurrence_then_the_series_leaves_it_alone(client, team, room):
    sign_in(client, team.scheduler)
    first = _booked(client, team, every_weeks="1", count="4")
    series = _series(team)
    third = series[2]
    token = csrf_of(client)
    moved = client.post(
        f"/bookings/{third.id}/change",
        data={"csrf_token": token, "date": "2037-04-01", "time": "15:00", "scope": "this",
              "duration_minutes": "50", "room_id": "", "kind": "individual",
              "modality": "in_person"},
    )  # fmt: skip
    assert moved.status_code == 302, moved.get_data(as_text=True)[-2000:]
    db.session.refresh(third)
    assert third.detached and third.starts_at.replace(tzinfo=UTC).hour == 13
    page = assert_page(client.get(f"/bookings/{first.id}"))
    assert "The whole series: 3 appointments" in page
    assert "Left alone, because they were changed on their own: Wed 1 Apr 2037, 15:00." in page
    changed = client.post(
        f"/bookings/{first.id}/change",
        data={"csrf_token": token, "date": MONDAY.isoformat(), "time": "11:00",
              "scope": "series", "duration_minutes": "50", "room_id": str(room.id),
              "kind": "individual", "modality": "in_person"},
    )  # fmt: skip
    assert changed.status_code == 302
    assert "n=3" in changed.headers["Location"]
    db.session.expire_all()
    local = [a.starts_at.replace(tzinfo=UTC) for a in _series(team)]
    assert local == [
        datetime(2037, 3, 16, 10, 0, tzinfo=UTC),
        datetime(2037, 3, 23, 10, 0, tzinfo=UTC),
        datetime(2037, 4, 1, 13, 0, tzinfo=UTC),  # the detached one kept its own time
        datetime(2037, 4, 6, 9, 0, tzinfo=UTC),  # 11:00 summer time
    ]
    nothing = client.post(
        f"/bookings/{first.id}/change",
        data={"csrf_token": token, "date": MONDAY.isoformat(), "time": "11:00", "scope": "this",
              "duration_minutes": "50", "room_id": str(room.id), "kind": "individual",
              "modality": "in_person"},
    )  # fmt: skip
    assert "Nothing was changed: edit a field first." in assert_page(nothing, 422)
    bad_scope = client.post(
        f"/bookings/{first.id}/change", data={"csrf_token": token, "scope": "everything"}
    )
    assert_page(bad_scope, 400)


def test_a_move_into_a_taken_slot_shows_the_conflict(client, team):
    start = datetime(2037, 3, 16, 9, 0, tzinfo=UTC)
    mine = make_appointment(team.client, team.author, starts_at=start)
    make_appointment(team.other_client, team.author, starts_at=start + timedelta(hours=2))
    settle()
    sign_in(client, team.scheduler)
    response = client.post(
        f"/bookings/{mine.id}/change",
        data={"csrf_token": csrf_of(client), "date": MONDAY.isoformat(), "time": "12:00",
              "duration_minutes": "50", "room_id": "", "kind": "individual",
              "modality": "in_person"},
    )  # fmt: skip
    page = assert_page(response, 409)
    assert "The time is taken." in page and team.other_client.last_name in page
    db.session.refresh(mine)
    assert mine.starts_at.replace(tzinfo=UTC) == start


def test_cancel_with_who_and_why_then_undo_while_the_slot_is_free(client, team):
    start = utcnow().replace(microsecond=0) + timedelta(days=3)
    appointment = make_appointment(team.client, team.author, starts_at=start)
    settle()
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    missing_who = client.post(
        f"/bookings/{appointment.id}/status", data={"csrf_token": token, "status": "cancelled"}
    )
    assert "Say who cancelled." in assert_page(missing_who, 422)
    early = client.post(
        f"/bookings/{appointment.id}/status", data={"csrf_token": token, "status": "no_show"}
    )
    assert "has not started" in assert_page(early, 409)
    cancelled = client.post(
        f"/bookings/{appointment.id}/status",
        data={"csrf_token": token, "status": "late_cancelled", "cancelled_by": "client",
              "cancel_category": "illness", "cancel_reason": "Back in hospital again."},
    )  # fmt: skip
    assert cancelled.status_code == 302
    page = assert_page(client.get(cancelled.headers["Location"]))
    assert "late cancelled" in page and "by the client" in page and "illness" in page
    assert "a reason was written; it is sealed" in page and "hospital" not in page
    assert "Undo the cancellation" in page
    # Someone takes the slot: the undo is refused with what is in the way.
    other = make_appointment(team.other_client, team.author, starts_at=start)
    settle()
    refused = client.post(f"/bookings/{appointment.id}/undo", data={"csrf_token": token})
    assert team.other_client.last_name in assert_page(refused, 409)
    db.session.delete(other)
    settle()
    undone = client.post(f"/bookings/{appointment.id}/undo", data={"csrf_token": token})
    assert undone.status_code == 302
    db.session.refresh(appointment)
    assert appointment.status == "scheduled" and appointment.cancel_note is None
    again = client.post(f"/bookings/{appointment.id}/undo", data={"csrf_token": token})
    assert_page(again, 409)
    wrong = client.post(
        f"/bookings/{appointment.id}/status", data={"csrf_token": token, "status": "party"}
    )
    assert "Choose what happened." in assert_page(wrong, 422)


def test_cancelling_the_rest_of_a_series_says_how_many_beforehand(client, team):
    sign_in(client, team.scheduler)
    first = _booked(client, team, every_weeks="2", count="3")
    page = assert_page(client.get(f"/bookings/{first.id}"))
    assert "The whole series: 3 appointments" in page
    done = client.post(
        f"/bookings/{first.id}/status",
        data={"csrf_token": csrf_of(client), "status": "cancelled", "cancelled_by": "clinician",
              "scope": "series"},
    )  # fmt: skip
    assert done.status_code == 302 and "n=3" in done.headers["Location"]
    assert {a.status for a in _series(team)} == {"cancelled"}


def test_a_bad_change_is_a_422_page_and_changes_nothing(client, team):
    elsewhere = Room(practice_id=team.stranger.practice_id, name="Their room")
    start = datetime(2037, 3, 16, 9, 0, tzinfo=UTC)
    mine = make_appointment(team.client, team.author, starts_at=start)
    db.session.add(elsewhere)
    settle()
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    for form, words in (
        ({"room_id": str(elsewhere.id)}, "No such room."),
        ({"room_id": "not-an-id"}, "Not a valid UUID."),
        ({"date": "2037-13-01"}, "Enter a date (YYYY-MM-DD)."),
        ({"date": "2037-03-29", "time": "02:15"}, "02:15 does not exist"),
        ({"date": "2037-10-25", "time": "02:15"}, "02:15 happens twice"),
        ({"duration_minutes": "0"}, "greater than or equal to 1"),
        ({"kind": "party"}, "Must be one of"),
    ):
        page = assert_page(
            client.post(f"/bookings/{mine.id}/change", data={"csrf_token": token, **form}), 422
        )
        assert words in page, (form, page[-2500:])
    db.session.refresh(mine)
    assert mine.starts_at.replace(tzinfo=UTC) == start and mine.room_id is None
    assert mine.kind == "individual"


def test_a_scope_for_a_single_appointment_is_refused_in_words(client, team):
    single = make_appointment(team.client, team.author)
    settle()
    sign_in(client, team.scheduler)
    response = client.post(
        f"/bookings/{single.id}/status",
        data={"csrf_token": csrf_of(client), "status": "cancelled", "cancelled_by": "client",
              "scope": "following"},
    )  # fmt: skip
    page = assert_page(response, 422)
    assert "Only occurrences of a series take scope following or series." in page
    db.session.refresh(single)
    assert single.status == "scheduled"
