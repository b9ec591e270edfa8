"""The demo practice carries a clinical record: a signed plan per client naming its
focal script, and progress notes for the last sessions (the newest a draft)."""

from __future__ import annotations

import sqlalchemy as sa

from practice.demo import create_demo
from practice.demo_stories import CLIENTS
from practice.record.models import ProgressNote, TreatmentPlan


def test_the_demo_has_plans_and_progress_notes(db):
    create_demo()
    plans = db.session.scalars(sa.select(TreatmentPlan)).all()
    assert len(plans) == len(CLIENTS) and {p.status for p in plans} == {"signed"}
    notes = db.session.scalars(sa.select(ProgressNote)).all()
    assert len(notes) == 4 * len(CLIENTS)
    assert sorted(n.status for n in notes).count("draft") == len(CLIENTS)
    assert all(n.plan_id is not None for n in notes)
