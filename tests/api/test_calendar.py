"""A clinician's secret iCalendar feed: the token, the feed, and what it must never show."""

import logging
import urllib.request
import uuid
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar

from practice.auth.sessions import digest
from practice.database import utcnow
from practice.extensions import db
from practice.scheduling import ical
from practice.scheduling.models import CalendarFeed, Room
from tests.factories import (
    PASSWORD,
    bearer,
    make_appointment,
    make_client,
    make_practice,
    make_staff,
    make_user,
)
from tests.helpers import assert_error, audit_text, settle

BASE = "/api/v1/clinicians"
SURNAME = "Canarywhistle"
EMAIL = "canary.feed@example.test"
PHONE = "+4930901820"

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def clinic():
    practice = make_practice()
    staff = make_staff(practice)
    person = make_client(practice, staff["mine"], first_name="Ada", last_name=SURNAME)
    person.email, person.phone = EMAIL, PHONE
    settle()
    return practice, staff, person


def issue(client, user, target=None):
    target = target or user
    return client.post(f"{BASE}/{target.id}/calendar-token", headers=bearer(user))


def feed_url(clinician, token) -> str:
    return f"{BASE}/{clinician.id}/calendar.ics?token={token}"


def test_issue_returns_the_secret_once_and_stores_only_its_hash(client, clinic):
    _practice, staff, _person = clinic
    response = issue(client, staff["mine"])
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "url"}
    assert body["url"].endswith(feed_url(staff["mine"], body["token"]))
    stored = db.session.get(CalendarFeed, staff["mine"].id)
    assert stored.token_hash == digest(body["token"])
    assert body["token"] not in stored.token_hash
    assert body["token"] not in audit_text()


def test_feed_shows_live_appointments_as_initials_and_kind(client, clinic, caplog):
    practice, staff, person = clinic
    room = Room(practice_id=practice.id, name="Garden Room")
    db.session.add(room)
    db.session.flush()
    now = utcnow().replace(microsecond=0)
    live = [
        make_appointment(person, starts_at=now + timedelta(days=1), room=room),
        make_appointment(person, starts_at=now - timedelta(days=3), status="attended"),
        make_appointment(person, starts_at=now + timedelta(days=2), status="no_show"),
        make_appointment(
            person, starts_at=now + timedelta(days=9), kind="intake", modality="video"
        ),
    ]
    live += [
        make_appointment(person, starts_at=now + timedelta(days=4), status="cancelled"),
        make_appointment(
            person,
            starts_at=now + timedelta(days=5),
            status="late_cancelled",
            cancel_reason="canary-reason",
        ),
    ]
    make_appointment(person, starts_at=now - timedelta(days=200), status="attended")
    make_appointment(person, starts_at=now + timedelta(days=800))
    theirs = make_client(practice, staff["colleague"])
    make_appointment(theirs, starts_at=now + timedelta(days=1))
    settle()
    token = issue(client, staff["mine"]).get_json()["token"]
    with caplog.at_level(logging.DEBUG):
        response = client.get(feed_url(staff["mine"], token))
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    events = calendar.walk("VEVENT")
    assert sorted(str(e["UID"]) for e in events) == sorted(f"{a.id}@practice" for a in live)
    by_uid = {str(e["UID"]): e for e in events}
    first = by_uid[f"{live[0].id}@practice"]
    assert str(first["SUMMARY"]) == "A.C. — individual"
    assert str(first["LOCATION"]) == "Garden Room"
    assert first.decoded("DTSTART") == live[0].starts_at
    assert first.decoded("DTSTART").tzinfo.utcoffset(None) == timedelta(0)
    assert first.decoded("DTEND") == live[0].ends_at
    assert "DTSTAMP" in first
    assert str(by_uid[f"{live[3].id}@practice"]["SUMMARY"]) == "A.C. — intake"
    text = response.get_data(as_text=True)
    assert "DTSTART:" in text and "Z\r\n" in text  # UTC, not floating or TZID times
    for secret in (SURNAME, "Ada", EMAIL, PHONE, "canary-reason", theirs.last_name):
        assert secret not in text
    assert token not in caplog.text
    assert token not in audit_text()
    assert f"calendar_feed.read clinician {staff['mine'].id}" in audit_text()
    # UIDs are stable across fetches.
    again = Calendar.from_ical(client.get(feed_url(staff["mine"], token)).data)
    assert sorted(str(e["UID"]) for e in again.walk("VEVENT")) == sorted(by_uid)


def test_reissue_and_revoke_stop_the_old_url(client, clinic):
    _practice, staff, _person = clinic
    old = issue(client, staff["mine"]).get_json()["token"]
    new = issue(client, staff["mine"]).get_json()["token"]
    assert old != new
    assert_error(client.get(feed_url(staff["mine"], old)), 404)
    assert client.get(feed_url(staff["mine"], new)).status_code == 200
    revoked = client.delete(
        f"{BASE}/{staff['mine'].id}/calendar-token", headers=bearer(staff["mine"])
    )
    assert revoked.status_code == 204
    assert_error(client.get(feed_url(staff["mine"], new)), 404)
    again = client.delete(
        f"{BASE}/{staff['mine'].id}/calendar-token", headers=bearer(staff["mine"])
    )
    assert_error(again, 404)


def test_every_bad_token_gets_the_same_404(client, clinic):
    _practice, staff, _person = clinic
    token = issue(client, staff["mine"]).get_json()["token"]
    other = issue(client, staff["colleague"]).get_json()["token"]
    settle()
    mine = staff["mine"]
    bodies = [
        client.get(f"{BASE}/{mine.id}/calendar.ics"),
        client.get(feed_url(mine, "")),
        client.get(feed_url(mine, token[:-1])),
        client.get(feed_url(mine, token.upper())),
        client.get(feed_url(mine, other)),
        client.get(feed_url(mine, "x" * 5000)),
        client.get(feed_url(mine, "' OR 1=1 --")),
        client.get(feed_url(staff["colleague"], token)),
        client.get(f"{BASE}/{uuid.uuid4()}/calendar.ics?token={token}"),
    ]
    first = assert_error(bodies[0], 404)
    for response in bodies[1:]:
        assert assert_error(response, 404) == first
    assert_error(client.get(f"{BASE}/not-a-uuid/calendar.ics?token={token}"), 404)
    assert token not in audit_text()


def test_deactivated_clinician_feed_stops(client, clinic):
    _practice, staff, _person = clinic
    token = issue(client, staff["mine"]).get_json()["token"]
    staff["mine"].active = False
    settle()
    assert_error(client.get(feed_url(staff["mine"], token)), 404)


@pytest.mark.parametrize(
    "off_and_on",
    [({"active": False}, {"active": True}), ({"roles": ["scheduler"]}, {"roles": ["clinician"]})],
    ids=["deactivated", "clinician-role-dropped"],
)
def test_a_feed_stopped_by_deactivation_or_a_role_change_stays_stopped(client, clinic, off_and_on):
    """The link may sit in a lost phone's calendar: giving the account (or the clinician
    role) back must not open the old link again."""
    _practice, staff, _person = clinic
    token = issue(client, staff["mine"]).get_json()["token"]
    assert client.get(feed_url(staff["mine"], token)).status_code == 200
    for change in off_and_on:
        url = f"/api/v1/users/{staff['mine'].id}"
        changed = client.patch(url, json=change, headers=bearer(staff["owner"]))
        assert changed.status_code == 200, changed.get_json()
        assert_error(client.get(feed_url(staff["mine"], token)), 404)
    assert db.session.get(CalendarFeed, staff["mine"].id) is None


def test_a_lost_second_factor_reset_stops_the_feed(client, clinic):
    """A factor is reset because the phone is gone, and the feed link is in its calendar."""
    _practice, staff, _person = clinic
    token = issue(client, staff["mine"]).get_json()["token"]
    staff["mine"].totp_enabled, staff["mine"].totp_secret = True, "JBSWY3DPEHPK3PXP"
    settle()
    reset = client.delete(
        f"/api/v1/users/{staff['mine'].id}/totp",
        json={"password": PASSWORD},
        headers=bearer(staff["owner"]),
    )
    assert reset.status_code == 204, reset.get_json()
    assert_error(client.get(feed_url(staff["mine"], token)), 404)


@pytest.mark.parametrize(("who", "code"), [("colleague", 403), ("owner", 403), ("outsider", 404)])
def test_only_the_clinician_issues_their_token(client, clinic, who, code):
    _practice, staff, _person = clinic
    assert_error(issue(client, staff[who], staff["mine"]), code)
    assert_error(
        client.delete(f"{BASE}/{staff['mine'].id}/calendar-token", headers=bearer(staff[who])),
        code,
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 0


def test_token_edge_cases(client, clinic):
    _practice, staff, _person = clinic
    assert_error(issue(client, staff["scheduler"]), 403)  # not a clinician: no feed
    assert_error(client.post(f"{BASE}/{staff['mine'].id}/calendar-token"), 401)
    assert_error(
        client.post(f"{BASE}/not-a-uuid/calendar-token", headers=bearer(staff["mine"])), 404
    )
    assert_error(issue(client, staff["mine"], make_user(staff["outsider"].practice)), 404)
    body = client.post(
        f"{BASE}/{staff['mine'].id}/calendar-token",
        json={"token": "chosen-by-me"},
        headers=bearer(staff["mine"]),
    )
    assert body.status_code == 201  # a body is ignored: the secret is always ours
    assert body.get_json()["token"] != "chosen-by-me"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed)) == 1


def test_window_edges_are_utc(client, clinic):
    _practice, staff, person = clinic
    start = utcnow().astimezone(UTC).replace(microsecond=0) + timedelta(days=30)
    appointment = make_appointment(person, starts_at=start, minutes=90)
    settle()
    token = issue(client, staff["mine"]).get_json()["token"]
    calendar = Calendar.from_ical(client.get(feed_url(staff["mine"], token)).data)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=90)
    assert str(event["UID"]) == f"{appointment.id}@practice"


@pytest.mark.live
def test_token_is_redacted_from_the_servers_request_log(live_server, caplog):
    with live_server.app.app_context():
        practice = make_practice()
        clinician = make_user(practice, ["clinician"])
        make_appointment(make_client(practice, clinician))
        token = ical.issue_token(clinician)
        clinician_id = clinician.id
        db.session.commit()
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        url = f"{live_server.url}{BASE}/{clinician_id}/calendar.ics?token={token}"
        with urllib.request.urlopen(url) as response:  # noqa: S310 (our own test server)
            assert response.status == 200
            assert b"BEGIN:VEVENT" in response.read()
    assert "calendar.ics?token=[redacted]" in caplog.text
    assert token not in caplog.text


def _vobject_events(data: bytes) -> dict:
    """The feed read by a second, independent parser (vobject): {uid: event}."""
    (calendar,) = list(vobject.readComponents(data.decode("utf-8")))
    return {event.uid.value: event for event in calendar.vevent_list}


def test_cancelled_sessions_stay_marked_cancelled_with_the_room_as_location(client, clinic):
    """Checked with two independent parsers (icalendar and vobject)."""
    practice, staff, person = clinic
    room = Room(practice_id=practice.id, name="Blue Room")
    db.session.add(room)
    db.session.flush()
    now = utcnow().replace(microsecond=0)
    kept = make_appointment(person, starts_at=now + timedelta(days=1), room=room)
    cancelled = make_appointment(
        person, starts_at=now + timedelta(days=2), room=room, status="cancelled"
    )
    late = make_appointment(
        person,
        starts_at=now + timedelta(days=3),
        modality="video",
        status="late_cancelled",
        cancel_reason="canary-reason: crisis at home",
    )
    settle()
    token = issue(client, staff["mine"]).get_json()["token"]
    data = client.get(feed_url(staff["mine"], token)).data
    expected = {
        f"{kept.id}@practice": ("CONFIRMED", "Blue Room", kept.starts_at),
        f"{cancelled.id}@practice": ("CANCELLED", "Blue Room", cancelled.starts_at),
        f"{late.id}@practice": ("CANCELLED", "Video", late.starts_at),
    }
    first = {
        str(e["UID"]): (str(e["STATUS"]), str(e["LOCATION"]), e.decoded("DTSTART"))
        for e in Calendar.from_ical(data).walk("VEVENT")
    }
    second = {
        uid: (e.status.value, e.location.value, e.dtstart.value)
        for uid, e in _vobject_events(data).items()
    }
    assert first == expected
    assert second == expected
    assert all(str(e.summary.value) == "A.C. — individual" for e in _vobject_events(data).values())
    for secret in ("canary-reason", "crisis", SURNAME):
        assert secret.encode() not in data


def test_unchanged_feed_answers_304_to_a_conditional_poll(client, clinic):
    _practice, staff, person = clinic
    appointment = make_appointment(person)
    settle()
    token = issue(client, staff["mine"]).get_json()["token"]
    first = client.get(feed_url(staff["mine"], token))
    tag = first.headers["ETag"]
    again = client.get(feed_url(staff["mine"], token), headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    appointment.status = "cancelled"
    settle()
    changed = client.get(feed_url(staff["mine"], token), headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    (event,) = Calendar.from_ical(changed.data).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    stale = client.get(feed_url(staff["mine"], "wrong"), headers={"If-None-Match": tag})
    assert_error(stale, 404)
