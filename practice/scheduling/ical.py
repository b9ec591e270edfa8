"""A clinician's secret iCalendar feed: issuing and revoking its token, and the feed itself.

The feed is read by calendar apps without a login, so it shows as little as a calendar
needs: times, the client's initials and the kind of session, and the room as the location
(or "Video"/"Phone"). A cancelled or late-cancelled session stays in the feed marked
`STATUS:CANCELLED`: a calendar that already holds the event then shows it cancelled,
where dropping it would leave the old event standing in many calendar apps. Only the
token's SHA-256 is stored; reissuing replaces it, so the old URL stops working at once.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import timedelta

import sqlalchemy as sa
from icalendar import Calendar, Event

from practice.audit import service as audit
from practice.auth.models import User
from practice.auth.sessions import digest
from practice.clients.models import Client
from practice.database import utcnow
from practice.extensions import db
from practice.scheduling.models import Appointment, CalendarFeed, Room

PRODID = "-//practice//calendar feed//EN"
WINDOW_BACK = timedelta(days=90)
WINDOW_AHEAD = timedelta(days=366)
TOKEN_PREFIX = "cal_"  # noqa: S105 (a label, not a secret)
MAX_TOKEN_LENGTH = 200
MODALITY_LOCATIONS = {"video": "Video", "phone": "Phone"}
CANCELLED_STATUSES = frozenset({"cancelled", "late_cancelled"})


def issue_token(clinician: User) -> str:
    """A new feed secret for `clinician`; the previous one stops working. Shown once;
    audited."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    feed = db.session.get(CalendarFeed, clinician.id)
    if feed is None:
        db.session.add(CalendarFeed(clinician_id=clinician.id, token_hash=digest(secret)))
    else:
        feed.token_hash = digest(secret)
        feed.created_at = utcnow()
    db.session.flush()
    audit.record(db.session, "calendar_feed.issue", object_type="clinician", object_id=clinician.id)
    return secret


def revoke_token(clinician: User) -> bool:
    """Stop the clinician's feed (audited); False when there was none."""
    feed = db.session.get(CalendarFeed, clinician.id)
    if feed is None:
        return False
    db.session.delete(feed)
    db.session.flush()
    audit.record(
        db.session, "calendar_feed.revoke", object_type="clinician", object_id=clinician.id
    )
    return True


def clinician_for_token(clinician_id: uuid.UUID, token: str | None) -> User | None:
    """The active clinician whose live feed this token opens, else None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    feed = db.session.get(CalendarFeed, clinician_id)
    if feed is None or not hmac.compare_digest(feed.token_hash, digest(token)):
        return None
    clinician = db.session.get(User, clinician_id)
    if clinician is None or not clinician.is_active_clinician:
        return None
    return clinician


def initials(client: Client) -> str:
    """`A.Q.` for Ada Quillfeather; nothing else about the client goes into a feed."""
    letters = [name.strip()[:1].upper() for name in (client.first_name, client.last_name)]
    return "".join(f"{letter}." for letter in letters if letter)


def _event(appointment: Appointment, client: Client, room_name: str | None) -> Event:
    event = Event()
    event.add("uid", f"{appointment.id}@practice")
    event.add("dtstamp", appointment.updated_at)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", f"{initials(client)} — {appointment.kind}")
    location = room_name or MODALITY_LOCATIONS.get(appointment.modality)
    if location:
        event.add("location", location)
    cancelled = appointment.status in CANCELLED_STATUSES
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # Few properties on purpose: rendering costs per line, and calendars poll often.
    event.add("class", "PRIVATE")
    return event


def feed_appointments(clinician: User):
    """(appointment, client, room name) for the clinician's appointments in the window,
    cancelled ones included; audited as the feed's read (in the clinician's practice: the
    request carries no signed-in user)."""
    audit.record(
        db.session,
        "calendar_feed.read",
        object_type="clinician",
        object_id=clinician.id,
        practice_id=clinician.practice_id,
    )
    now = utcnow()
    return db.session.execute(
        sa.select(Appointment, Client, Room.name)
        .join(Client, Client.id == Appointment.client_id)
        .outerjoin(Room, Room.id == Appointment.room_id)
        .where(
            Appointment.clinician_id == clinician.id,
            Appointment.practice_id == clinician.practice_id,
            Appointment.ends_at > now - WINDOW_BACK,
            Appointment.starts_at < now + WINDOW_AHEAD,
        )
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()


def fingerprint(rows) -> str:
    """A strong ETag for the feed's rows, cheap enough to compute before rendering."""
    parts = [PRODID]
    for appointment, client, room_name in rows:
        parts.append(
            f"{appointment.id}|{appointment.updated_at.isoformat()}|{appointment.starts_at}|"
            f"{appointment.ends_at}|{appointment.kind}|{appointment.modality}|{initials(client)}|"
            f"{room_name}|{appointment.status}"
        )
    return digest("\n".join(parts))


def render_feed(rows) -> bytes:
    """The feed rows (see `feed_appointments`) as an RFC 5545 VCALENDAR."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Practice appointments")
    calendar.add("x-published-ttl", "PT1H")
    for appointment, client, room_name in rows:
        calendar.add_component(_event(appointment, client, room_name))
    return calendar.to_ical()
