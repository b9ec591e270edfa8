"""Booking, listing and changing appointments: the scheduling rules, free of HTTP.

Refusals raise the domain's errors (practice/errors.py): Invalid with field errors,
Conflict (SlotTaken with the clashes the actor may see). Services flush, the request
commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import wraps
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from practice.audit import service as audit
from practice.auth import policy
from practice.auth.models import User
from practice.clients.models import Client
from practice.errors import Conflict, Invalid
from practice.extensions import db
from practice.scheduling import recurrence
from practice.scheduling.conflicts import MAX_DURATION, Slot, find_conflicts, overlapping
from practice.scheduling.models import Appointment, AppointmentSeries, Room

# SQLSTATE of a PostgreSQL exclusion-constraint violation (a concurrent double booking),
# and of the deadlock / serialisation failures racing series inserts can run into.
EXCLUSION_VIOLATION = "23P01"
RETRYABLE = ("40P01", "40001")
WRITE_ATTEMPTS = 5


NOT_IN_CARE = (
    "This clinician is not in the client's care: add them to the client's care team "
    "(or make them the primary clinician) first, then book."
)


class SlotTaken(Conflict):
    """The time is taken. `clashes`: every clash found; what the actor may see of them
    goes into `details` (`visible_conflicts`) on the way out of the service."""

    def __init__(self, clashes: list[dict]):
        super().__init__("The time is taken.")
        self.clashes = clashes


def invalid(field: str, message: str) -> Invalid:
    """A refusal naming one field."""
    return Invalid({field: [message]})


def visible_conflicts(actor: User, clashes: list[dict]) -> list[dict]:
    """The clashes as the actor may see them (SECURITY 36): id and times of the
    appointments they can read (policy.can_see_appointment: owners and schedulers all, a
    clinician their own); for any other only that one exists, and why — no id, no times,
    one entry per reason. A clinician may not see a colleague's calendar, so not their
    busy times either."""
    shown, hidden = [], []
    for clash in clashes:
        if policy.can_see_appointment(actor, clash["appointment"]):
            shown.append(
                {
                    "appointment_id": str(clash["appointment_id"]),
                    "starts_at": clash["starts_at"].isoformat(),
                    "ends_at": clash["ends_at"].isoformat(),
                    "reason": clash["reason"],
                }
            )
        elif clash["reason"] not in hidden:
            hidden.append(clash["reason"])
    return shown + [{"reason": reason, "hidden": True} for reason in hidden]


def conflicts_audited(action: str) -> Callable:
    """For a service taking the actor first: a Conflict it raises is audited as a failed
    `action` (no ids: nothing was written), and a taken slot names what the actor may
    see of the clashes."""

    def decorator(step: Callable) -> Callable:
        @wraps(step)
        def wrapper(actor: User, *args, **kwargs):
            try:
                return step(actor, *args, **kwargs)
            except Conflict as error:
                audit.record(db.session, action, object_type="appointment", outcome="failure")
                if isinstance(error, SlotTaken):
                    error.details = {"conflicts": visible_conflicts(actor, error.clashes)}
                raise

        return wrapper

    return decorator


def practice_zone(user: User) -> ZoneInfo:
    """The IANA zone series of this user's practice are expanded in."""
    return user.practice.zone


def check_duration(starts_at: datetime, ends_at: datetime, field: str = "ends_at") -> None:
    """Refuse an end before/at the start or an appointment longer than MAX_DURATION."""
    if ends_at <= starts_at:
        raise invalid(field, "The appointment must end after it starts.")
    if ends_at - starts_at > MAX_DURATION:
        raise invalid(field, "An appointment may last at most 12 hours.")


def resolve_people(actor: User, client_id, clinician_id) -> tuple[Client, User]:
    """The client and clinician of a new booking, or a 422 naming each bad field.

    Ids of other practices read exactly like ids that do not exist.
    """
    errors: dict[str, list[str]] = {}
    client = db.session.get(Client, client_id)
    if client is None or not policy.can_see_client(actor, client):
        errors["client_id"] = ["No such client."]
    elif client.status == "discharged":
        errors["client_id"] = ["The client is discharged."]
    clinician = db.session.get(User, clinician_id)
    if clinician is None or not policy.in_practice(actor, clinician):
        errors["clinician_id"] = ["No such clinician."]
    elif not clinician.is_active_clinician:
        errors["clinician_id"] = ["Not an active clinician of the practice."]
    elif not policy.sees_all_clients(actor) and clinician.id != actor.id:
        errors["clinician_id"] = ["Clinicians book only their own appointments."]
    if errors:
        raise Invalid(errors)
    if not policy.can_book(actor, client, clinician.id):
        raise invalid("client_id", "No such client.")
    if not client.is_assigned(clinician.id):
        # Else the clinician would see the appointment but not the client it is with.
        raise invalid("clinician_id", NOT_IN_CARE)
    return client, clinician


def resolve_room(actor: User, room_id: uuid.UUID | None) -> Room | None:
    """An active room of the actor's practice (None stays None), or a 422."""
    if room_id is None:
        return None
    room = db.session.get(Room, room_id)
    if room is None or not policy.in_practice(actor, room):
        raise invalid("room_id", "No such room.")
    if not room.active:
        raise invalid("room_id", "The room is no longer in use.")
    return room


def get_appointment_for(actor: User, appointment_id: uuid.UUID) -> Appointment:
    """An appointment the actor may see; anything else is a 404 (audited)."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or not policy.can_see_appointment(actor, appointment):
        policy.deny("appointment", appointment_id)
    return appointment


def read_appointment(actor: User, appointment_id: uuid.UUID) -> Appointment:
    """get_appointment_for, for showing it: the read is audited as appointment.read."""
    appointment = get_appointment_for(actor, appointment_id)
    audit.record(
        db.session, "appointment.read", object_type="appointment", object_id=appointment.id
    )
    return appointment


def appointment_query(actor: User, filters: dict, *, rows: bool = False) -> sa.Select:
    """The appointments the actor may see, filtered, ordered by start (index-backed ranges).
    With `rows`, their columns as plain rows rather than entities: for a list that only
    shows them (no identity map, no change tracking)."""
    query = sa.select(Appointment.__table__ if rows else Appointment)
    query = query.where(Appointment.practice_id == actor.practice_id)
    if not policy.sees_all_clients(actor):
        query = query.where(Appointment.clinician_id == actor.id)
    for name in ("clinician_id", "client_id", "room_id", "series_id", "status"):
        if filters.get(name) is not None:
            query = query.where(getattr(Appointment, name) == filters[name])
    if filters.get("start") is not None or filters.get("end") is not None:
        query = query.where(overlapping(filters.get("start"), filters.get("end")))
    return query.order_by(Appointment.starts_at, Appointment.id)


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def guarded_write(apply: Callable[[], None], slots: Sequence[Slot], ignore_ids=()) -> None:
    """Check `slots` for conflicts, then run `apply` in a savepoint and flush.

    The check lists every clash for the caller. A concurrent request can still win the
    slot between check and write; PostgreSQL's exclusion constraints then refuse our
    flush, and we answer 409 listing what won. Two racing multi-row writes (series) can
    deadlock on each other's uncommitted rows; PostgreSQL aborts one, which retries and
    then meets the winner's committed rows. (SQLite transactions hold the write lock from
    their first statement, so there the check alone is already serialised.)
    """
    for attempt in range(WRITE_ATTEMPTS):
        conflicts = find_conflicts(slots, ignore_ids)
        if conflicts:
            raise SlotTaken(conflicts)
        try:
            with db.session.begin_nested():
                apply()
                db.session.flush()
            return
        except DBAPIError as error:
            state = _sqlstate(error)
            if state == EXCLUSION_VIOLATION:
                conflicts = find_conflicts(slots, ignore_ids)
                raise SlotTaken(conflicts) from None
            if state not in RETRYABLE or attempt == WRITE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@conflicts_audited("appointment.create")
def book(actor: User, data: dict) -> list[Appointment]:
    """Book one appointment, or a whole series (every occurrence checked); returns them
    all, each audited as appointment.create."""
    client, clinician = resolve_people(actor, data["client_id"], data["clinician_id"])
    room = resolve_room(actor, data.get("room_id"))
    starts_at = data["starts_at"]
    ends_at = data.get("ends_at") or starts_at + timedelta(minutes=data["duration_minutes"])
    check_duration(starts_at, ends_at)
    rule = data.get("recurrence")
    zone = practice_zone(actor)
    if rule:
        try:
            times = recurrence.expand(starts_at, ends_at - starts_at, recurrence.Rule(**rule), zone)
        except recurrence.RecurrenceError as error:
            raise invalid(error.field, error.message) from None
    else:
        times = [(starts_at, ends_at)]
    series = None
    if rule:
        series = AppointmentSeries(
            id=uuid.uuid4(),
            practice_id=actor.practice_id,
            client_id=client.id,
            clinician_id=clinician.id,
            timezone=zone.key,
            **rule,
        )
    appointments = [
        Appointment(
            id=uuid.uuid4(),
            practice_id=actor.practice_id,
            client_id=client.id,
            clinician_id=clinician.id,
            room_id=room.id if room else None,
            series_id=series.id if series else None,
            series_index=index if series else None,
            starts_at=start,
            ends_at=end,
            kind=data["kind"],
            modality=data["modality"],
            status="scheduled",
        )
        for index, (start, end) in enumerate(times)
    ]
    slots = [
        Slot(a.starts_at, a.ends_at, a.clinician_id, a.client_id, a.room_id) for a in appointments
    ]

    def apply():
        if series is not None:
            db.session.add(series)
            db.session.flush()
        db.session.add_all(appointments)

    guarded_write(apply, slots)
    for appointment in appointments:
        audit.record(
            db.session, "appointment.create", object_type="appointment", object_id=appointment.id
        )
    return appointments
