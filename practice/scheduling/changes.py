"""Changing appointments: status transitions and edits scoped to one occurrence, this and
the following ones, or the whole series.

Status rules (a refused transition is 409: the request is well-formed but the
appointment's state forbids it):
- scheduled → attended | no_show, once the appointment has started (not in the future);
- scheduled → cancelled | late_cancelled, with `cancelled_by` and optionally a
  `cancel_category` and words (sealed: scheduling/cancel_reasons.py); cancelled ones
  free the slot;
- attended ↔ no_show, to correct the record;
- cancelled | late_cancelled → scheduled undoes a cancellation (only this occurrence),
  while the slot is still free: otherwise 409 with the conflicts, as for a booking; the
  cancellation's who, category and words are cleared. No other way leads out of a
  cancellation (cancelled → attended is refused), and an attended or no-show
  appointment cannot be cancelled.
- a session with a signed progress note keeps its times, room, kind, modality and
  status (scheduled → attended excepted: it says what the note says); the signed note
  shows them from the appointment (practice/record/progress.py), so changing them would
  rewrite the signed record (409; the note takes an addendum).

Scopes for series members: `this` changes one occurrence and marks it detached;
`following` and `series` change the target plus every later (resp. every) occurrence
that is still scheduled, not yet begun and not detached, so an occurrence edited on its
own keeps its edit. `following` from the first occurrence is the same as `series`;
from a later one it splits the series in two, so the tail becomes a series of its own.
A cancellation with scope following/series also cancels detached occurrences: ending a
series must not leave stray bookings behind.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from practice.audit import service as audit
from practice.auth.models import User
from practice.clients.models import Client
from practice.database import utcnow
from practice.errors import Conflict, Invalid
from practice.extensions import db
from practice.scheduling import recurrence
from practice.scheduling.cancel_reasons import seal_reason
from practice.scheduling.conflicts import Slot
from practice.scheduling.models import Appointment, AppointmentSeries
from practice.scheduling.service import (
    check_duration,
    conflicts_audited,
    guarded_write,
    invalid,
    practice_zone,
    resolve_room,
)

SCOPES = ("this", "following", "series")
CANCELLATIONS = ("cancelled", "late_cancelled")
TRANSITIONS = {
    "scheduled": {"attended", "no_show", *CANCELLATIONS},
    "attended": {"no_show"},
    "no_show": {"attended"},
    "cancelled": {"scheduled"},
    "late_cancelled": {"scheduled"},
}
FIELDS = ("starts_at", "ends_at", "duration_minutes", "room_id", "kind", "modality")
# Named as a table, not imported: the record package builds on scheduling, not the reverse.
_PROGRESS_NOTES = sa.table(
    "progress_notes", sa.column("appointment_id", sa.Uuid()), sa.column("status", sa.String())
)
SIGNED_SESSION = (
    "This session has a signed progress note, which shows its time, kind, modality and "
    "attendance as they are: they cannot change (add an addendum to the note instead)."
)


def refuse_signed_sessions(appointments) -> None:
    """Conflict when any of `appointments` has a signed progress note."""
    ids = [item.id for item in appointments]
    signed = sa.select(_PROGRESS_NOTES.c.appointment_id).where(
        _PROGRESS_NOTES.c.appointment_id.in_(ids), _PROGRESS_NOTES.c.status == "signed"
    )
    if ids and db.session.scalar(signed.limit(1)) is not None:
        raise Conflict(SIGNED_SESSION)


def targets(appointment: Appointment, scope: str, *, include_detached: bool) -> list:
    """The appointment plus the other occurrences `scope` reaches, in series order."""
    if appointment.series_id is None or scope == "this":
        return [appointment]
    first = 0 if scope == "series" else appointment.series_index
    query = sa.select(Appointment).where(
        Appointment.series_id == appointment.series_id,
        Appointment.series_index >= first,
        Appointment.id != appointment.id,
        Appointment.status == "scheduled",
        Appointment.starts_at >= utcnow(),
    )
    if not include_detached:
        query = query.where(Appointment.detached.is_(False))
    others = db.session.scalars(query).all()
    return sorted([appointment, *others], key=lambda a: a.series_index)


@conflicts_audited("appointment.update")
def change(actor: User, appointment: Appointment, changes: dict, scope: str | None) -> list:
    """Apply a PATCH; returns the appointments that changed (the target first), each
    audited as appointment.status or appointment.update."""
    if scope is not None and appointment.series_id is None and scope != "this":
        raise invalid("scope", "Only occurrences of a series take scope following or series.")
    scope = scope or "this"
    if "status" in changes:
        if any(name in changes for name in FIELDS):
            raise invalid("status", "Change the status on its own, without other fields.")
        changed, action = change_status(appointment, changes, scope), "appointment.status"
    elif not any(name in changes for name in FIELDS):
        raise Invalid(message="Nothing to change.")
    else:
        changed, action = change_fields(actor, appointment, changes, scope), "appointment.update"
    for item in changed:
        audit.record(db.session, action, object_type="appointment", object_id=item.id)
    return changed


def change_status(appointment: Appointment, changes: dict, scope: str) -> list:
    """Attended, no-show or a cancellation (the latter may reach following occurrences)."""
    status = changes["status"]
    if status not in TRANSITIONS[appointment.status]:
        raise Conflict(f"A {appointment.status} appointment cannot become {status}.")
    if status == "scheduled":
        if scope != "this":
            raise invalid("scope", "A cancellation is undone one occurrence at a time.")
        return [reinstate(appointment)]
    if status in ("attended", "no_show") and appointment.starts_at > utcnow():
        raise Conflict("An appointment that has not started cannot be marked so.")
    if status not in CANCELLATIONS and scope != "this":
        raise invalid("scope", "Only cancellations reach following occurrences.")
    now = utcnow()
    changed = targets(appointment, scope, include_detached=True)
    if (appointment.status, status) != ("scheduled", "attended"):  # marking it held is fine
        refuse_signed_sessions(changed)
    client = db.session.get(Client, appointment.client_id)
    for item in changed:
        item.status = status
        item.status_changed_at = now
        item.cancelled_by = changes.get("cancelled_by")
        item.cancel_category = changes.get("cancel_category")
        item.cancel_note = seal_reason(client, item, changes.get("cancel_reason"))
    db.session.flush()
    return changed


def reinstate(appointment: Appointment) -> Appointment:
    """Undo a cancellation: scheduled again, if nothing took the slot meanwhile (409 with
    the conflicts otherwise) and the client is not discharged."""
    client = db.session.get(Client, appointment.client_id)
    if client.status == "discharged":
        raise Conflict("The client is discharged.")
    slot = Slot(
        appointment.starts_at,
        appointment.ends_at,
        appointment.clinician_id,
        appointment.client_id,
        appointment.room_id,
    )

    def apply():
        appointment.status = "scheduled"
        appointment.status_changed_at = utcnow()
        appointment.cancelled_by = appointment.cancel_category = None
        appointment.cancel_note = None

    guarded_write(apply, [slot], ignore_ids=[appointment.id])
    return appointment


def _new_times(appointment, item, changes, zone) -> tuple[datetime, datetime]:
    """Where `item` moves when `appointment` (the PATCH target) is edited as `changes`."""
    target_start = changes.get("starts_at", appointment.starts_at)
    if item is appointment:
        start = target_start
    elif "starts_at" in changes:
        old_local = appointment.starts_at.astimezone(zone)
        new_local = target_start.astimezone(zone)
        start = recurrence.shift_local(
            item.starts_at, zone, new_local.date() - old_local.date(), new_local.time()
        )
    else:
        start = item.starts_at
    if "duration_minutes" in changes:
        duration = timedelta(minutes=changes["duration_minutes"])
    elif "ends_at" in changes:
        duration = changes["ends_at"] - target_start
    else:
        duration = item.ends_at - item.starts_at
    return start, start + duration


def change_fields(actor: User, appointment: Appointment, changes: dict, scope: str) -> list:
    """Move, resize, re-room or re-kind the target and the occurrences its scope reaches."""
    if appointment.status != "scheduled":
        raise Conflict("Only scheduled appointments can be moved or changed.")
    room = resolve_room(actor, changes["room_id"]) if changes.get("room_id") else None
    zone = practice_zone(actor)
    changed = targets(appointment, scope, include_detached=False)
    refuse_signed_sessions(changed)
    plan = []
    for item in changed:
        start, end = _new_times(appointment, item, changes, zone)
        check_duration(
            start, end, "duration_minutes" if "duration_minutes" in changes else "ends_at"
        )
        room_id = (room.id if room else None) if "room_id" in changes else item.room_id
        plan.append((item, start, end, room_id))
    slots = [Slot(s, e, i.clinician_id, i.client_id, r) for i, s, e, r in plan]

    def apply():
        if appointment.series_id is not None:
            if scope == "this":
                appointment.detached = True
            elif scope == "following" and appointment.series_index > 0:
                split_series(appointment, zone)
        for item, start, end, room_id in plan:
            item.starts_at, item.ends_at, item.room_id = start, end, room_id
            for name in ("kind", "modality"):
                if name in changes:
                    setattr(item, name, changes[name])

    guarded_write(apply, slots, ignore_ids=[item.id for item in changed])
    return changed


def split_series(appointment: Appointment, zone) -> AppointmentSeries:
    """Make `appointment` and every later occurrence a series of their own."""
    old = appointment.series
    cut = appointment.series_index
    tail = AppointmentSeries(
        practice_id=old.practice_id,
        client_id=old.client_id,
        clinician_id=old.clinician_id,
        every_weeks=old.every_weeks,
        count=old.count - cut if old.count is not None else None,
        until=old.until,
        timezone=old.timezone,
    )
    db.session.add(tail)
    db.session.flush()
    members = db.session.scalars(
        sa.select(Appointment).where(
            Appointment.series_id == old.id, Appointment.series_index >= cut
        )
    ).all()
    for member in members:
        member.series = tail
        member.series_index -= cut
    if old.count is not None:
        old.count = cut
    else:
        old.until = appointment.starts_at.astimezone(zone).date() - timedelta(days=1)
    return tail
