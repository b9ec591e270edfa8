"""Booking for the front desk: find the client, choose clinician, room, kind, modality,
a date and a local time in the practice's zone, a duration and a repetition. The form is
checked by the API's schema and booked by the same service; a conflict lists what is in
the way and offers the next free times; a clinician outside the client's care is offered
to be added to the care team in the same step."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.appointments import AppointmentCreateSchema
from practice.api.clients import ClientListArgs
from practice.auth import policy
from practice.auth.models import User
from practice.clients import service as client_service
from practice.clients.models import Client
from practice.errors import Conflict, Invalid
from practice.extensions import db
from practice.scheduling import free_slots, local_time, service
from practice.scheduling.models import KINDS, MODALITIES
from practice.web.frontdesk import EARLIEST, LATEST, clinicians_of_practice
from practice.web.frontdesk import rooms_of_practice as practice_rooms
from practice.web.pages import desk_pages

bp = Blueprint("web_booking", __name__)

SEARCH_LIMIT = 20
FIELDS = (
    "client_q", "client_id", "clinician_id", "room_id", "kind", "modality", "date", "time",
    "fold", "duration_minutes", "every_weeks", "count", "until", "add_to_care",
)  # fmt: skip
# Where the API schema's and the service's field names show on the form.
FORM_FIELD = {"starts_at": "time", "ends_at": "duration_minutes", "recurrence": "every_weeks"}
REASONS = {
    "clinician": "the clinician is booked",
    "client": "the client has another appointment",
    "room": "the room is taken",
}
SHOWN_CONFLICTS = 10


def parse_uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def local_start(values: dict, errors: dict, zone) -> datetime | None:
    """The UTC start of the form's date and local time; plain-words errors otherwise.
    `errors["fold_choices"]` holds the two readings of a repeated time."""
    day = wall = None
    try:
        day = date.fromisoformat(values.get("date") or "")
        if not EARLIEST <= day <= LATEST:
            errors["date"] = ["That date is out of range."]
    except ValueError:
        errors["date"] = ["Enter a date (YYYY-MM-DD)."]
    try:
        wall = time.fromisoformat(values.get("time") or "")
        if wall.second or wall.microsecond or wall.tzinfo:
            raise ValueError
    except ValueError:
        errors["time"] = ["Enter a time as HH:MM, on the practice's clock."]
    if "date" in errors or "time" in errors:
        return None
    try:
        return local_time.to_utc(day, wall, zone, values.get("fold") or None)
    except local_time.LocalTimeError as error:
        errors["time"] = [error.message]
        if error.choices:
            errors["fold_choices"] = error.choices
        return None


def schema_errors(messages: dict) -> dict:
    """Marshmallow's messages under the form's field names (nested ones flattened)."""
    errors: dict = {}
    for name, value in messages.items():
        if isinstance(value, dict):  # recurrence: {"count": [...]}
            for inner, words in value.items():
                errors.setdefault(inner, []).extend(words)
        else:
            errors.setdefault(FORM_FIELD.get(name, name), []).extend(value)
    return errors


def _whole(text: str | None, field: str, errors: dict) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        errors[field] = ["Enter a whole number."]
        return None


def booking_body(values: dict, errors: dict, zone) -> dict | None:
    """The API's booking body from the form, or None with `errors` filled."""
    take = values.get("take")
    if take:
        try:
            starts_at = datetime.fromisoformat(take)
        except ValueError:
            starts_at = None
            errors["time"] = ["The offered time could not be read; choose a time."]
    else:
        starts_at = local_start(values, errors, zone)
    body = {
        "client_id": values.get("client_id") or None,
        "clinician_id": values.get("clinician_id") or None,
        "room_id": values.get("room_id") or None,
        "kind": values.get("kind") or None,
        "modality": values.get("modality") or None,
        "duration_minutes": _whole(values.get("duration_minutes"), "duration_minutes", errors),
    }
    if starts_at is not None:
        body["starts_at"] = starts_at.isoformat()
    if values.get("every_weeks"):
        rule = {"every_weeks": _whole(values["every_weeks"], "every_weeks", errors)}
        if values.get("count"):
            rule["count"] = _whole(values["count"], "count", errors)
        if values.get("until"):
            rule["until"] = values["until"]
        body["recurrence"] = rule
    body = {k: v for k, v in body.items() if v is not None}
    try:
        loaded = AppointmentCreateSchema().load(body)
    except ValidationError as error:
        for name, words in schema_errors(error.messages).items():
            errors.setdefault(name, words)
        return None
    return None if errors else loaded


def _visible_client(client_id) -> Client | None:
    client = db.session.get(Client, client_id) if client_id else None
    return client if client is not None and policy.can_see_client(current_user, client) else None


def _practice_clinician(clinician_id) -> User | None:
    user = db.session.get(User, clinician_id) if clinician_id else None
    return user if user is not None and user.practice_id == current_user.practice_id else None


def care_offer(loaded: dict, values: dict, errors: dict) -> tuple | None:
    """(client, clinician) when the clinician is not in the client's care yet. With the box
    ticked they are added to the care team here, in the booking's transaction (a refused
    booking rolls it back); without it the form asks."""
    client = _visible_client(loaded["client_id"])
    clinician = _practice_clinician(loaded["clinician_id"])
    if client is None or clinician is None or not clinician.is_active_clinician:
        return None  # the service names what is wrong
    if client.is_assigned(clinician.id):
        return None
    if values.get("add_to_care") != "yes":
        errors["add_to_care"] = [
            f"{clinician.name} is not in {client.first_name} {client.last_name}'s care yet. "
            "Tick the box to add them to the care team with this booking."
        ]
        return client, clinician
    try:
        client_service.update_client(
            current_user, client, {"care_team_ids": [*client.care_team_ids, clinician.id]}
        )
    except Invalid as error:
        words = [m for ms in error.errors.values() for m in (ms if isinstance(ms, list) else [])]
        errors["add_to_care"] = words or ["The care team could not take this clinician."]
        return client, clinician
    return None


def offers_for(loaded: dict) -> list[datetime]:
    """The next free starts for the refused booking (the series as a whole)."""
    return free_slots.offers_for(current_user, loaded)


def conflict_rows(conflicts: list[dict], zone) -> list[dict]:
    """What is in the way, as the caller may see it: times, names, room; no clinical detail.
    One line an appointment: one in the way for two reasons (the clinician and the room)
    says both on its line rather than appearing twice."""
    rows = []
    seen: dict = {}
    for c in conflicts:
        other = c["appointment"]
        if other.id in seen:
            seen[other.id]["reason"] += f" and {REASONS[c['reason']]}"
            continue
        if not policy.can_see_appointment(current_user, other):
            seen[other.id] = {"hidden": True, "reason": REASONS[c["reason"]]}
            rows.append(seen[other.id])
            continue
        client = db.session.get(Client, other.client_id)
        clinician = db.session.get(User, other.clinician_id)
        rows.append(
            {
                "id": other.id,
                "starts": other.starts_at.astimezone(zone),
                "ends": other.ends_at.astimezone(zone),
                "client": f"{client.first_name} {client.last_name}" if client else "a client",
                "clinician": clinician.name if clinician else "a clinician",
                "reason": REASONS[c["reason"]],
            }
        )
        seen[other.id] = rows[-1]
    return rows


def _form_values() -> dict:
    if request.method == "POST":
        values = {name: request.form.get(name, "").strip() for name in FIELDS}
        values["take"] = request.form.get("take", "")
    else:
        values = {name: request.args.get(name, "").strip()[:100] for name in FIELDS}
    values.setdefault("duration_minutes", "")
    values["duration_minutes"] = values["duration_minutes"] or "50"
    values["kind"] = values["kind"] or "individual"
    values["modality"] = values["modality"] or "in_person"
    return values


def _client_choices(values: dict) -> tuple[list[Client], bool]:
    """Clients matching the search (audited as listed), plus the chosen one."""
    chosen = _visible_client(parse_uuid(values.get("client_id")))
    found: list[Client] = []
    searched = bool(values.get("client_q"))
    if searched:
        args = ClientListArgs().load({"q": values["client_q"]})
        query = client_service.search_clients(current_user, q=args.get("q"))
        found = list(db.session.scalars(query.limit(SEARCH_LIMIT)))
        client_service.audit_listed(found)
    if chosen is not None and chosen not in found:
        found.insert(0, chosen)
    return found, searched


def _render(values, errors, status=200, conflicts=None, offers=None, care=None):
    zone = service.practice_zone(current_user)
    try:
        clients, searched = _client_choices(values)
    except ValidationError:
        errors["client_q"] = ["Search with at most 100 characters."]
        clients, searched = [], True
    fold_choices = errors.pop("fold_choices", None)
    page = render_template(
        "frontdesk/book.html",
        values=values,
        errors=errors,
        fold_choices=fold_choices,
        clients=clients,
        searched=searched,
        clinician_options=[(u.id, u.name) for u in clinicians_of_practice(current_user)],
        room_options=[(r.id, r.name) for r in practice_rooms(current_user)],
        kind_options=[(k, k.replace("_", " ")) for k in KINDS],
        modality_options=[(m, m.replace("_", " ")) for m in MODALITIES],
        zone=zone.key,
        conflicts=(conflicts or [])[:SHOWN_CONFLICTS],
        more_conflicts=max(0, len(conflicts or []) - SHOWN_CONFLICTS),
        offers=[(o.isoformat(), o.astimezone(zone)) for o in offers or []],
        care=care,
    )
    return page, status


@bp.route("/bookings/new", methods=["GET", "POST"])
@desk_pages
def new_booking():
    """The booking form (GET may pre-fill ids, a date and a time); POST finds or books."""
    values = _form_values()
    if request.method == "GET" or request.form.get("action") == "find":
        return _render(values, {})
    zone = service.practice_zone(current_user)
    errors: dict = {}
    loaded = booking_body(values, errors, zone)
    if loaded is None:
        return _render(values, errors, 422)
    care = care_offer(loaded, values, errors)
    if errors:
        return _render(values, errors, 422, care=care)
    try:
        booked = service.book(current_user, loaded)
    except Invalid as error:
        return _render(values, schema_errors(error.errors) or {"form": [error.message]}, 422)
    except Conflict as error:  # audited as a failed booking by the service
        if values.get("take"):
            local = loaded["starts_at"].astimezone(zone)
            values.update(date=local.date().isoformat(), time=local.strftime("%H:%M"), take="")
        clashes = getattr(error, "clashes", [])
        if not clashes:
            return _render(values, {"form": [error.message]}, 409)
        return _render(
            values,
            {},
            409,
            conflicts=conflict_rows(clashes, zone),
            offers=offers_for(loaded),
        )
    return redirect(
        url_for("web_booked.appointment", appointment_id=booked[0].id, done="booked", n=len(booked))
    )
