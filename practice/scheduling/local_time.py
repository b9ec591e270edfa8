"""A date and a wall-clock time in the practice's zone, turned into the UTC instant a
booking stores, so nobody does offset arithmetic.

The first appointment of a booking is what the person chose, so a time that does not
exist (the spring-forward gap) is refused, and a time that occurs twice (the fall-back
hour) needs a choice of which one; both are said in plain words. Later occurrences of a
series follow RFC 5545 instead (recurrence.local_to_utc: gaps shift forward, folds take
the first), as the choice was already made for the series.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

# Which of the two instants of a repeated local time: the first is still summer time.
FOLDS = {"first": 0, "second": 1}


class LocalTimeError(ValueError):
    """A local time the practice's clock skips (`gap`) or shows twice (`fold`)."""

    def __init__(self, kind: str, message: str, choices: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.choices = choices or []


def _offset(moment: datetime) -> str:
    """`UTC+02:00`: the offset in words a person can compare."""
    total = int(moment.utcoffset().total_seconds() // 60)
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def describe(day: date) -> str:
    return day.strftime("%a %-d %b %Y")


def to_utc(day: date, wall_time: time, zone: ZoneInfo, fold: str | None = None) -> datetime:
    """The UTC instant of `wall_time` on `day` in `zone`; LocalTimeError when it does not
    exist, or occurs twice and `fold` ("first"/"second") does not say which."""
    naive = datetime.combine(day, wall_time.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    shown = wall_time.strftime("%H:%M")
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        after = first.astimezone(UTC).astimezone(zone).strftime("%H:%M")
        raise LocalTimeError(
            "gap",
            f"{shown} does not exist on {describe(day)}: the clocks in {zone.key} go "
            f"forward that night. Choose another time, such as {after}.",
        )
    if fold in FOLDS:
        return naive.replace(tzinfo=zone, fold=FOLDS[fold]).astimezone(UTC)
    raise LocalTimeError(
        "fold",
        f"{shown} happens twice on {describe(day)}: the clocks in {zone.key} go back that "
        "night. Say which one is meant.",
        [
            ("first", f"the first {shown} ({_offset(first)}, before the clocks go back)"),
            ("second", f"the second {shown} ({_offset(second)}, an hour later)"),
        ],
    )


def which_of_two(moment: datetime) -> str | None:
    """For an aware local time the clocks show twice (the fall-back hour): which of the
    two it is, in plain words ("first, UTC+02:00, before the clocks go back"); None for
    any other time. `astimezone` sets `fold` on the second one."""
    zone = moment.tzinfo
    naive = moment.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None  # the spring-forward gap: shown once (never, in fact)
    if moment.utcoffset() == first.utcoffset():
        return f"first, {_offset(first)}, before the clocks go back"
    return f"second, {_offset(second)}, after the clocks go back"
