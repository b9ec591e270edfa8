""" "Due for review" counts from the practice's today, in the practice's time zone, not
the server's: near midnight UTC a practice far east or far west is on another date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from practice.actor import Actor
from practice.record import plans, summary
from tests.helpers import settle
from tests.record.helpers import PLAN


def _signed(team, review: date):
    plan, _content = plans.create_plan(
        Actor(user=team.author, via="session"), team.client, PLAN, review
    )
    plans.sign_plan(plan, team.client, plan.version)
    settle()
    return plan


@pytest.mark.parametrize(
    ("zone", "now", "due"),
    [
        # 20:00 UTC on 5 Dec is 10:00 on 6 Dec in Kiritimati: 20 Dec is 14 days away.
        ("Pacific/Kiritimati", datetime(2026, 12, 5, 20, 0, tzinfo=UTC), True),
        # 05:00 UTC on 5 Dec is 18:00 on 4 Dec in Pago Pago: 20 Dec is 16 days away.
        ("Pacific/Pago_Pago", datetime(2026, 12, 5, 5, 0, tzinfo=UTC), False),
        # The same instant in UTC itself: 15 days away, not due.
        ("UTC", datetime(2026, 12, 5, 20, 0, tzinfo=UTC), False),
    ],
)
def test_due_for_review_uses_the_practices_date(db, team, monkeypatch, zone, now, due):
    team.practice.timezone = zone
    settle()
    plan = _signed(team, date(2026, 12, 20))
    monkeypatch.setattr(plans, "utcnow", lambda: now)
    assert plans.is_due(plan) is due
    assert plans.plan_view(plan, team.client)["due_for_review"] is due
    assert (summary.plans_due_for_review(team.client) == [plan]) is due
