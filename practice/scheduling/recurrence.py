"""Expanding a recurring series into occurrences, in the practice's local wall-clock time.

A weekly 10:00 session stays 10:00 local across daylight-saving changes, so its UTC time
moves by an hour twice a year. The duration is kept in elapsed time.

Local times that do not exist (the spring-forward gap, e.g. 02:30 in Europe/Berlin on
the last Sunday of March) are shifted forward by the length of the gap (02:30 → 03:30),
as RFC 5545 §3.3.5 prescribes; local times that occur twice (the fall-back hour) mean
the first of the two (the daylight-saving one), also as in RFC 5545.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MAX_OCCURRENCES = 104
MAX_EVERY_WEEKS = 52
# A series may reach at most this far past its first occurrence (local dates).
MAX_SPAN_DAYS = 731


class RecurrenceError(ValueError):
    """A recurrence that cannot or may not be expanded; `field` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Rule:
    """Every `every_weeks` weeks, `count` times or until the local date `until` (inclusive)."""

    every_weeks: int
    count: int | None = None
    until: date | None = None


def local_to_utc(day: date, wall_time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time; gaps shift forward, folds take the first."""
    # fold=0 applies the offset in force *before* a transition: for a gap that is the
    # earlier (standard) offset, which lands the instant after the gap (RFC 5545).
    naive = datetime.combine(day, wall_time.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=zone).astimezone(UTC)


def check_rule(rule: Rule, first_local_date: date) -> None:
    """Refuse impossible or unbounded rules with a RecurrenceError naming the field."""
    if not 1 <= rule.every_weeks <= MAX_EVERY_WEEKS:
        raise RecurrenceError("every_weeks", f"Must be between 1 and {MAX_EVERY_WEEKS}.")
    if (rule.count is None) == (rule.until is None):
        raise RecurrenceError("recurrence", "Give exactly one of count and until.")
    if rule.count is not None and not 1 <= rule.count <= MAX_OCCURRENCES:
        raise RecurrenceError("count", f"Must be between 1 and {MAX_OCCURRENCES}.")
    if rule.until is not None and rule.until < first_local_date:
        raise RecurrenceError("until", "Must not be before the first appointment.")


def expand(
    first_start: datetime, duration: timedelta, rule: Rule, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """All (starts_at, ends_at) in UTC for `rule`, starting with `first_start` itself."""
    local = first_start.astimezone(zone)
    check_rule(rule, local.date())
    wall_time = local.timetz().replace(tzinfo=None)
    horizon = local.date() + timedelta(days=MAX_SPAN_DAYS)
    step = timedelta(weeks=rule.every_weeks)
    slots: list[tuple[datetime, datetime]] = []
    day = local.date()
    while True:
        if rule.count is not None and len(slots) == rule.count:
            break
        if rule.until is not None and day > rule.until:
            break
        if day > horizon:
            raise RecurrenceError("recurrence", "A series may span at most two years.")
        if len(slots) == MAX_OCCURRENCES:
            raise RecurrenceError(
                "recurrence", f"A series may have at most {MAX_OCCURRENCES} occurrences."
            )
        start = first_start.astimezone(UTC) if not slots else local_to_utc(day, wall_time, zone)
        slots.append((start, start + duration))
        day += step
    return slots


def shift_local(start: datetime, zone: ZoneInfo, day_delta: timedelta, wall_time) -> datetime:
    """Move `start` by whole local days and set a new local wall-clock time."""
    return local_to_utc(start.astimezone(zone).date() + day_delta, wall_time, zone)
