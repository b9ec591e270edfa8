"""Offering free times after a conflict: the next days on which the same clinician (and
room, and client) are free at the same local time of day."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from practice.auth.models import User
from practice.database import utcnow
from practice.scheduling import recurrence, service
from practice.scheduling.conflicts import Slot, find_conflicts

OFFERS = 3
# How many days after the refused one are searched.
HORIZON_DAYS = 60


def _candidate_days(first: datetime, zone: ZoneInfo):
    """The local dates after `first`'s; weekends only when the refused day was one."""
    day = first.astimezone(zone).date()
    weekend_wanted = day.weekday() >= 5
    for offset in range(1, HORIZON_DAYS + 1):
        candidate = day + timedelta(days=offset)
        if weekend_wanted or candidate.weekday() < 5:
            yield candidate


def next_free(
    slot: Slot,
    zone: ZoneInfo,
    rule: recurrence.Rule | None = None,
    *,
    count: int = OFFERS,
    ignore_ids=(),
) -> list[datetime]:
    """Up to `count` UTC starts, on the days after `slot`'s, at its local wall-clock time,
    where `slot` (and with `rule`, every occurrence of the series) clashes with nothing."""
    wall_time = slot.starts_at.astimezone(zone).time()
    duration = slot.ends_at - slot.starts_at
    now = utcnow()
    offers: list[datetime] = []
    for day in _candidate_days(slot.starts_at, zone):
        start = recurrence.local_to_utc(day, wall_time, zone)
        if start < now:
            continue
        if rule is None:
            times = [(start, start + duration)]
        else:
            try:
                times = recurrence.expand(start, duration, rule, zone)
            except recurrence.RecurrenceError:
                break  # a series ending on a date cannot start after it
        slots = [replace(slot, starts_at=s, ends_at=e) for s, e in times]
        if not find_conflicts(slots, ignore_ids):
            offers.append(start)
            if len(offers) == count:
                break
    return offers


def offers_for(actor: User, data: dict, *, count: int = OFFERS) -> list[datetime]:
    """The next free starts for a booking the actor may make (`data` as for
    service.book: client, clinician, optional room, start, end or duration, optional
    recurrence); the same refusals as a booking for ids the actor may not use."""
    client, clinician = service.resolve_people(actor, data["client_id"], data["clinician_id"])
    room = service.resolve_room(actor, data.get("room_id"))
    start = data["starts_at"]
    end = data.get("ends_at") or start + timedelta(minutes=data["duration_minutes"])
    service.check_duration(start, end)
    slot = Slot(start, end, clinician.id, client.id, room.id if room else None)
    rule = recurrence.Rule(**data["recurrence"]) if data.get("recurrence") else None
    if rule is not None:
        try:
            recurrence.check_rule(rule, start.astimezone(service.practice_zone(actor)).date())
        except recurrence.RecurrenceError as error:
            raise service.invalid(error.field, error.message) from None
    return next_free(slot, service.practice_zone(actor), rule, count=count)
