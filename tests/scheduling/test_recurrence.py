"""Series expansion in local wall-clock time, across DST changes, within bounds."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from practice.scheduling.local_time import which_of_two
from practice.scheduling.recurrence import RecurrenceError, Rule, expand, local_to_utc

pytestmark = pytest.mark.pure  # plain values in, plain values out: no database

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(minutes=50)


def local_times(slots, zone):
    return [start.astimezone(zone).strftime("%Y-%m-%d %H:%M %z") for start, _ in slots]


def test_weekly_series_keeps_10am_across_berlin_spring_forward_and_fall_back():
    first = datetime(2031, 3, 17, 10, 0, tzinfo=BERLIN)  # CET, +01:00
    slots = expand(first, HOUR, Rule(every_weeks=1, until=date(2031, 11, 3)), BERLIN)
    assert {s.astimezone(BERLIN).time() for s, _ in slots} == {time(10, 0)}
    utc_hours = [s.astimezone(UTC).hour for s, _ in slots]
    assert utc_hours[0] == 9  # winter: 10:00 CET = 09:00 UTC
    assert utc_hours[3] == 8  # 2031-04-07 after spring-forward: 10:00 CEST = 08:00 UTC
    assert utc_hours[-1] == 9  # 2031-11-03 after fall-back
    assert all(end - start == HOUR for start, end in slots)
    assert [s.astimezone(BERLIN).date() for s, _ in slots][-1] == date(2031, 11, 3)


def test_new_york_series_across_both_transitions():
    first = datetime(2031, 3, 3, 18, 0, tzinfo=NEW_YORK)  # EST, -05:00
    slots = expand(first, HOUR, Rule(every_weeks=1, count=40), NEW_YORK)
    assert len(slots) == 40
    assert local_times(slots, NEW_YORK)[0] == "2031-03-03 18:00 -0500"
    assert local_times(slots, NEW_YORK)[1] == "2031-03-10 18:00 -0400"
    assert local_times(slots, NEW_YORK)[35] == "2031-11-03 18:00 -0500"
    assert slots[1][0] - slots[0][0] == timedelta(days=7, hours=-1)


def test_nonexistent_local_time_shifts_forward_like_rfc5545():
    # 02:30 does not exist in Berlin on 2031-03-30 (clocks jump 02:00 → 03:00).
    first = datetime(2031, 3, 23, 2, 30, tzinfo=BERLIN)
    slots = expand(first, HOUR, Rule(every_weeks=1, count=3), BERLIN)
    assert local_times(slots, BERLIN) == [
        "2031-03-23 02:30 +0100",
        "2031-03-30 03:30 +0200",
        "2031-04-06 02:30 +0200",
    ]
    assert local_to_utc(date(2031, 3, 30), time(2, 30), BERLIN) == datetime(
        2031, 3, 30, 1, 30, tzinfo=UTC
    )


def test_ambiguous_local_time_takes_the_first_occurrence():
    first = datetime(2031, 10, 19, 2, 30, tzinfo=BERLIN)
    slots = expand(first, HOUR, Rule(every_weeks=1, count=2), BERLIN)
    assert slots[1][0] == datetime(2031, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST


def test_every_n_weeks_until_is_inclusive():
    first = datetime(2031, 1, 6, 9, 0, tzinfo=UTC)
    slots = expand(first, HOUR, Rule(every_weeks=2, until=date(2031, 2, 3)), UTC)
    assert [s.date() for s, _ in slots] == [date(2031, 1, 6), date(2031, 1, 20), date(2031, 2, 3)]


def test_first_occurrence_is_exactly_the_requested_instant():
    first = datetime(2031, 1, 6, 9, 0, 17, tzinfo=UTC)
    assert expand(first, HOUR, Rule(every_weeks=1, count=1), BERLIN) == [(first, first + HOUR)]


def test_limits_allow_two_years_and_104_occurrences():
    first = datetime(2031, 1, 6, 9, 0, tzinfo=UTC)
    assert len(expand(first, HOUR, Rule(every_weeks=1, count=104), UTC)) == 104
    assert len(expand(first, HOUR, Rule(every_weeks=52, count=3), UTC)) == 3
    assert len(expand(first, HOUR, Rule(every_weeks=4, until=date(2032, 12, 31)), UTC)) == 26


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (Rule(every_weeks=0, count=3), "every_weeks"),
        (Rule(every_weeks=53, count=3), "every_weeks"),
        (Rule(every_weeks=1, count=0), "count"),
        (Rule(every_weeks=1, count=105), "count"),
        (Rule(every_weeks=1), "recurrence"),
        (Rule(every_weeks=1, count=3, until=date(2031, 3, 1)), "recurrence"),
        (Rule(every_weeks=1, until=date(2031, 1, 5)), "until"),
        (Rule(every_weeks=1, until=date(2033, 6, 1)), "recurrence"),
        (Rule(every_weeks=52, count=4), "recurrence"),
        (Rule(every_weeks=2, until=date(2040, 1, 1)), "recurrence"),
    ],
)
def test_impossible_or_unbounded_rules_are_refused(rule, field):
    first = datetime(2031, 1, 6, 9, 0, tzinfo=UTC)
    with pytest.raises(RecurrenceError) as caught:
        expand(first, HOUR, rule, UTC)
    assert caught.value.field == field


def test_which_of_two_names_a_repeated_time_and_nothing_else():
    first = datetime(2037, 10, 25, 0, 30, tzinfo=UTC).astimezone(BERLIN)
    second = datetime(2037, 10, 25, 1, 30, tzinfo=UTC).astimezone(BERLIN)
    assert f"{first:%H:%M}" == f"{second:%H:%M}" == "02:30"
    assert which_of_two(first) == "first, UTC+02:00, before the clocks go back"
    assert which_of_two(second) == "second, UTC+01:00, after the clocks go back"
    spring = datetime(2037, 3, 29, 1, 30, tzinfo=UTC).astimezone(BERLIN)  # 03:30, after a gap
    ordinary = datetime(2037, 10, 25, 9, 0, tzinfo=UTC).astimezone(BERLIN)
    assert which_of_two(spring) is None and which_of_two(ordinary) is None
    assert which_of_two(datetime(2037, 10, 25, 2, 30, tzinfo=BERLIN)) is not None
    assert which_of_two(datetime(2037, 3, 29, 2, 30, tzinfo=BERLIN)) is None  # never shown
