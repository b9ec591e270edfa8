"""My week: the clinician's own appointments by day and hour in the practice's zone,
and marking one attended or a no-show."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.appointments import AppointmentUpdateSchema
from practice.audit import service as audit
from practice.clients.models import Client
from practice.clients.service import practice_today
from practice.errors import Invalid
from practice.extensions import db
from practice.scheduling import changes, service
from practice.themes import service as themes
from practice.web.clients import initials
from practice.web.pages import clinician_pages, csrf_token, refused, signed_in

bp = Blueprint("web_schedule", __name__)

DAY_HOURS = range(7, 21)  # rows always shown; appointments outside widen the grid
MARKS = {"attended": "Attended", "no_show": "No-show"}


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@bp.get("/week")
@bp.get("/week/<start>")
@signed_in
def week(start: str | None = None):
    """Monday to Sunday of the week holding `start` (default: this week)."""
    if not current_user.has_role("clinician"):
        abort(404)
    today = practice_today(current_user)
    try:
        first = _monday(date.fromisoformat(start) if start else today)
    except ValueError:
        abort(404)
    if not date(2000, 1, 1) <= first <= date(2199, 1, 1):
        abort(404)
    zone = service.practice_zone(current_user)
    days = [first + timedelta(days=i) for i in range(7)]
    begin = datetime.combine(first, time(), zone)
    end = datetime.combine(first + timedelta(days=7), time(), zone)
    query = service.appointment_query(
        current_user, {"clinician_id": current_user.id, "start": begin, "end": end}
    )
    appointments = db.session.scalars(query).all()
    audit.record(db.session, "appointment.list", object_type="appointment")
    clients = _names(a.client_id for a in appointments)
    grid: dict[tuple[date, int], list] = {}
    hours = set(DAY_HOURS)
    for item in appointments:
        local = item.starts_at.astimezone(zone)
        hours.add(local.hour)
        grid.setdefault((local.date(), local.hour), []).append(
            _slot(item, clients.get(item.client_id), zone)
        )
    return render_template(
        "schedule/week.html",
        days=days,
        rows=[  # built here: lookups in a template loop cost several times more
            (
                f"{hour:02d}:00",
                [("today" if day == today else "", grid.get((day, hour), ())) for day in days],
            )
            for hour in sorted(hours)
        ],
        today=today,
        zone=zone.key,
        previous=first - timedelta(days=7),
        following=first + timedelta(days=7),
        this_week=_monday(today),
        marks=MARKS,
        count=len(appointments),
        token=csrf_token(),
    )


def _names(client_ids) -> dict:
    """The names the week shows, by client id (the names alone: one query, no care team)."""
    ids = set(client_ids)
    if not ids:
        return {}
    query = sa.select(Client.id, Client.first_name, Client.last_name).where(Client.id.in_(ids))
    return {row.id: row for row in db.session.execute(query)}


def _slot(item, client, zone) -> dict:
    """What the week shows of one appointment."""
    return {
        "item": item,
        "client": client,
        "starts": item.starts_at.astimezone(zone),
        "ends": item.ends_at.astimezone(zone),
        "can_mark": item.status in changes.TRANSITIONS
        and any(s in changes.TRANSITIONS[item.status] for s in MARKS),
        "started": item.starts_at <= datetime.now(zone),
    }


@bp.post("/appointments/<uuid:appointment_id>/status")
@signed_in
def mark(appointment_id):
    """Attended or no-show (the service refuses what the rules refuse)."""
    if not current_user.has_role("clinician"):
        abort(404)
    appointment = service.get_appointment_for(current_user, appointment_id)
    try:
        args = AppointmentUpdateSchema().load({"status": request.form.get("status", "")})
        if args["status"] not in MARKS:
            raise ValidationError({"status": ["Choose attended or no-show."]})
        changes.change(current_user, appointment, args, None)
    except ValidationError:
        abort(400, "Choose attended or no-show.")
    except Invalid:
        refused("appointment.status", "appointment", appointment.id)
        raise
    zone = service.practice_zone(current_user)
    if request.headers.get("HX-Request") == "true":  # htmx: the card alone, no reload
        return render_template(
            "schedule/_appointment.html",
            slot=_slot(
                appointment, _names([appointment.client_id]).get(appointment.client_id), zone
            ),
            marks=MARKS,
            marked=True,
            token=csrf_token(),
        )
    day = appointment.starts_at.astimezone(zone).date()
    return redirect(
        url_for("web_schedule.week", start=_monday(day).isoformat()) + f"#a-{appointment.id}"
    )


@bp.get("/appointments/<uuid:appointment_id>")
@clinician_pages
def before_session(appointment_id):
    """An appointment of mine with the brief for it: the last note, recent and dormant
    scripts, unresolved ruptures, the last enactment."""
    appointment, client, brief = themes.brief_for(current_user, appointment_id)
    zone = service.practice_zone(current_user)
    starts = appointment.starts_at.astimezone(zone)
    return render_template(
        "schedule/before.html",
        appointment=appointment,
        client=client,
        initials=initials(client),
        starts=starts,
        ends=appointment.ends_at.astimezone(zone),
        brief=brief,
    )
