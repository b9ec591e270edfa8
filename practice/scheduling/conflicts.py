"""Finding live appointments that overlap a proposed booking, and index-friendly ranges.

Ranges are half-open, [starts_at, ends_at): back-to-back appointments do not overlap.
The check here gives the caller a complete list of clashes; the final guard against
races is the database (PostgreSQL exclusion constraints; SQLite's write lock).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from practice.extensions import db
from practice.scheduling.models import LIVE_STATUSES, Appointment

# The longest appointment we accept; it bounds how far back an overlapping one can start.
MAX_DURATION = timedelta(hours=12)
REASONS = ("clinician", "client", "room")


def overlapping(start: datetime | None, end: datetime | None) -> sa.ColumnElement[bool]:
    """Appointments overlapping [start, end), written so (x, starts_at) indexes bound the scan.

    `ends_at > start` alone cannot use an index on starts_at; since no appointment is
    longer than MAX_DURATION, `starts_at >= start - MAX_DURATION` is implied and lets
    the planner scan only a narrow slice of the index.
    """
    terms = []
    if end is not None:
        terms.append(Appointment.starts_at < end)
    if start is not None:
        terms.append(Appointment.starts_at >= start - MAX_DURATION)
        terms.append(Appointment.ends_at > start)
    return sa.and_(sa.true(), *terms)


@dataclass(frozen=True)
class Slot:
    """A proposed booking: when, and who and what it would occupy."""

    starts_at: datetime
    ends_at: datetime
    clinician_id: uuid.UUID
    client_id: uuid.UUID
    room_id: uuid.UUID | None = None

    def holder(self, reason: str) -> uuid.UUID | None:
        return getattr(self, f"{reason}_id")


def _candidates(reason: str, holders: set, start: datetime, end: datetime, ignore: set):
    column = getattr(Appointment, f"{reason}_id")
    query = sa.select(Appointment).where(
        column.in_(holders), Appointment.status.in_(LIVE_STATUSES), overlapping(start, end)
    )
    if ignore:
        query = query.where(Appointment.id.not_in(ignore))
    return db.session.scalars(query).all()


def find_conflicts(slots: Sequence[Slot], ignore_ids: Iterable[uuid.UUID] = ()) -> list[dict]:
    """Every live appointment clashing with any slot, once per (appointment, reason).

    `ignore_ids` are the appointments being moved (they do not clash with themselves).
    Each carries its `appointment`, so the caller can show only what the actor may see.
    """
    if not slots:
        return []
    ignore = set(ignore_ids)
    start = min(slot.starts_at for slot in slots)
    end = max(slot.ends_at for slot in slots)
    found: dict[tuple[uuid.UUID, str], dict] = {}
    for reason in REASONS:
        holders = {slot.holder(reason) for slot in slots} - {None}
        if not holders:
            continue
        for other in _candidates(reason, holders, start, end, ignore):
            holder = getattr(other, f"{reason}_id")
            if any(
                slot.holder(reason) == holder
                and slot.starts_at < other.ends_at
                and other.starts_at < slot.ends_at
                for slot in slots
            ):
                found[(other.id, reason)] = {
                    "appointment": other,
                    "appointment_id": other.id,
                    "starts_at": other.starts_at,
                    "ends_at": other.ends_at,
                    "reason": reason,
                }
    return sorted(found.values(), key=lambda c: (c["starts_at"], REASONS.index(c["reason"])))
