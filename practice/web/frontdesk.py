"""The front desk's calendar (schedulers and owners): the practice's day with clinicians
(or rooms) as columns, and one clinician's week, in the practice's zone. Client names
and times only: no clinical detail, no links into clinical pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import lazyload

from practice.audit import service as audit
from practice.auth.models import User
from practice.clients.models import Client
from practice.clients.service import practice_today
from practice.extensions import db
from practice.scheduling import local_time, service
from practice.scheduling.models import LIVE_STATUSES, Appointment, Room
from practice.web.pages import desk_pages

bp = Blueprint("web_frontdesk", __name__)

DAY_HOURS = range(7, 21)  # rows always shown; appointments outside widen the grid
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 1, 1)
# What the grids show of an appointment: plain rows, no ORM objects (a day holds hundreds).
SHOWN = (
    Appointment.id,
    Appointment.client_id,
    Appointment.clinician_id,
    Appointment.room_id,
    Appointment.series_id,
    Appointment.starts_at,
    Appointment.ends_at,
    Appointment.kind,
    Appointment.modality,
    Appointment.status,
)


@bp.app_template_filter("clock")
def clock(moment: datetime) -> str:
    """A local time as "14:30"; a time the clocks show twice that night says which one:
    "02:30 (first, UTC+02:00, before the clocks go back)"."""
    shown = moment.strftime("%H:%M")
    which = local_time.which_of_two(moment)
    return f"{shown} ({which})" if which else shown


def parse_day(text: str | None) -> date:
    """A date in a URL (YYYY-MM-DD) within the calendar's range; anything else is a 404."""
    try:
        day = date.fromisoformat(text) if text else practice_today(current_user)
    except ValueError:
        abort(404)
    if not EARLIEST <= day <= LATEST:
        abort(404)
    return day


def clinicians_of_practice(actor: User, also: set | None = None) -> list[User]:
    """Active clinicians of the practice (and any of `also`), by name."""
    rows = db.session.scalars(
        sa.select(User)
        .where(User.practice_id == actor.practice_id)
        .options(lazyload(User.practice))  # the practice is the actor's: no join needed
        .order_by(User.name, User.id)
    )
    return [u for u in rows if u.is_active_clinician or u.id in (also or set())]


def rooms_of_practice(actor: User, also: set | None = None) -> list[Room]:
    rows = db.session.scalars(
        sa.select(Room).where(Room.practice_id == actor.practice_id).order_by(Room.name)
    )
    return [r for r in rows if r.active or r.id in (also or set())]


def _local_bounds(first: date, days: int, zone) -> tuple[datetime, datetime]:
    return datetime.combine(first, time(), zone), datetime.combine(
        first + timedelta(days=days), time(), zone
    )


def load_appointments(actor: User, begin: datetime, end: datetime, **filters) -> tuple:
    """The appointments in [begin, end) and their clients' names (one query each), audited
    as one list."""
    query = service.appointment_query(actor, {"start": begin, "end": end, **filters})
    appointments = db.session.execute(query.with_only_columns(*SHOWN)).all()
    audit.record(db.session, "appointment.list", object_type="appointment")
    client_ids = {a.client_id for a in appointments}
    names = {}
    if client_ids:
        rows = db.session.execute(
            sa.select(Client.id, Client.first_name, Client.last_name).where(
                Client.id.in_(client_ids)
            )
        )
        names = {row.id: f"{row.first_name} {row.last_name}" for row in rows}
    return appointments, names


def _busy_hours(item, key, zone) -> list[tuple]:
    """(column, local date, hour) of every hour `item` (a live appointment) touches."""
    start = item.starts_at.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    end = item.ends_at.astimezone(zone)
    touched = []
    while start < end:
        touched.append((key, start.date(), start.hour))
        start += timedelta(hours=1)
    return touched


def _label(text: str) -> str:
    return text.replace("_", " ")


def grid_for(appointments, names, key: Callable, zone, room_names, clinician_names=None):
    """{(column, local date, hour): [cell]}, the hours shown and the (column, local date,
    hour) that something live occupies. A cell is what the page prints of an appointment,
    built here once (a day holds a few hundred); with `clinician_names` (the rooms view)
    it says who, instead of which room."""
    grid: dict = {}
    busy: set = set()
    hours = set(DAY_HOURS)
    nil = str(uuid.UUID(int=0))
    link = url_for("web_booked.appointment", appointment_id=nil).removesuffix(nil)
    client_link = url_for("web_desk.client", client_id=nil).removesuffix(nil)
    for item in appointments:
        local = item.starts_at.astimezone(zone)
        hours.add(local.hour)
        if item.status in LIVE_STATUSES:
            busy.update(_busy_hours(item, key(item), zone))
        what = f"{_label(item.kind)}, {_label(item.modality)}"
        if item.room_id and clinician_names is None:
            what += f", {room_names.get(item.room_id, 'a room')}"
        if item.series_id:
            what += ", series"
        grid.setdefault((key(item), local.date(), local.hour), []).append(
            {
                "id": item.id,
                "href": f"{link}{item.id}",
                "status": item.status,
                "status_words": _label(item.status),
                "when": f"{local:%H:%M}\u2013{item.ends_at.astimezone(zone):%H:%M}",
                "who": names.get(item.client_id, "Client"),
                "client_href": f"{client_link}{item.client_id}",
                "with": clinician_names.get(item.clinician_id) if clinician_names else None,
                "what": what,
            }
        )
    return grid, sorted(hours), busy


def _book_link(booking: str, param: str, column_id, day: date, hour: int) -> str:
    """The booking form pre-filled with an id, a date and an hour (never a name)."""
    return f"{booking}?{param}={column_id}&date={day}&time={hour:02d}:00"


@bp.get("/day")
@desk_pages
def today():
    """Today, or the date of the jump form (?day=YYYY-MM-DD)."""
    wanted = request.args.get("day")
    view = "web_frontdesk.rooms" if request.args.get("view") == "rooms" else "web_frontdesk.day"
    if wanted:
        try:
            day = date.fromisoformat(wanted)
        except ValueError:
            abort(400, "Enter the date as YYYY-MM-DD.")
        if not EARLIEST <= day <= LATEST:
            abort(400, "That date is out of range.")
        return redirect(url_for(view, day=day.isoformat()))
    return redirect(url_for(view, day=practice_today(current_user).isoformat()))


def _day_page(day: date, by_room: bool):
    zone = service.practice_zone(current_user)
    begin, end = _local_bounds(day, 1, zone)
    appointments, names = load_appointments(current_user, begin, end)
    clinicians = clinicians_of_practice(current_user, {a.clinician_id for a in appointments})
    rooms = rooms_of_practice(current_user, {a.room_id for a in appointments} - {None})
    room_names = {r.id: r.name for r in rooms}
    if by_room:
        columns = [(r.id, r.name) for r in rooms]
        clinician_names = {u.id: u.name for u in clinicians}
        grid, hours, busy = grid_for(
            appointments, names, lambda a: a.room_id, zone, room_names, clinician_names
        )
    else:
        columns = [(u.id, u.name) for u in clinicians]
        grid, hours, busy = grid_for(
            appointments, names, lambda a: a.clinician_id, zone, room_names
        )
    booking = url_for("web_booking.new_booking")
    param = "room_id" if by_room else "clinician_id"
    rows = []  # per hour: per column, its appointments and the booking link when free
    for hour in hours:
        cells = []
        for column_id, name in columns:
            free = (column_id, day, hour) not in busy
            link = _book_link(booking, param, column_id, day, hour) if free else None
            cells.append((grid.get((column_id, day, hour), ()), link, name))
        rows.append((f"{hour:02d}:00", cells))
    return render_template(
        "frontdesk/day.html",
        day=day,
        by_room=by_room,
        columns=columns,
        rows=rows,
        zone=zone.key,
        today=practice_today(current_user),
        booking=booking,
        count=sum(1 for a in appointments if a.status in LIVE_STATUSES),
        cancelled=sum(1 for a in appointments if a.status not in LIVE_STATUSES),
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
    )


@bp.get("/day/<day>")
@desk_pages
def day(day: str):
    """The practice's day: clinicians as columns, hours as rows, free hours marked."""
    return _day_page(parse_day(day), by_room=False)


@bp.get("/day/<day>/rooms")
@desk_pages
def rooms(day: str):
    """The practice's day by room."""
    return _day_page(parse_day(day), by_room=True)


@bp.get("/clinicians/<uuid:clinician_id>/week")
@bp.get("/clinicians/<uuid:clinician_id>/week/<start>")
@desk_pages
def clinician_week(clinician_id: uuid.UUID, start: str | None = None):
    """One clinician's week, Monday to Sunday, for the front desk."""
    clinician = db.session.get(User, clinician_id)
    if clinician is None or clinician.practice_id != current_user.practice_id:
        abort(404)
    if not clinician.has_role("clinician"):
        abort(404)
    first = parse_day(start)
    first -= timedelta(days=first.weekday())
    zone = service.practice_zone(current_user)
    begin, end = _local_bounds(first, 7, zone)
    appointments, names = load_appointments(current_user, begin, end, clinician_id=clinician.id)
    days = [first + timedelta(days=i) for i in range(7)]
    used = {a.room_id for a in appointments} - {None}
    room_names = {r.id: r.name for r in rooms_of_practice(current_user, used)}
    grid, hours, busy = grid_for(appointments, names, lambda a: a.clinician_id, zone, room_names)
    booking = url_for("web_booking.new_booking")
    free = {
        (d, hour): _book_link(booking, "clinician_id", clinician.id, d, hour)
        for d in days
        for hour in hours
        if clinician.is_active_clinician and (clinician.id, d, hour) not in busy
    }
    return render_template(
        "frontdesk/week.html",
        clinician=clinician,
        days=days,
        hours=hours,
        grid=grid,
        free=free,
        booking=booking,
        zone=zone.key,
        today=practice_today(current_user),
        previous=first - timedelta(days=7),
        following=first + timedelta(days=7),
        count=sum(1 for a in appointments if a.status in LIVE_STATUSES),
    )
