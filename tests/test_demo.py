"""`flask practice demo`: an invented practice whose theme history is worth looking at."""

from __future__ import annotations

import time
from collections import Counter

import sqlalchemy as sa

from practice import demo
from practice.auth.models import Practice, User
from practice.clients.models import Client
from practice.extensions import db
from practice.notes.models import ProcessNote, Script
from practice.scheduling.models import Appointment
from practice.themes.loader import client_theme_history
from tests.factories import make_practice


def test_demo_builds_a_practice_with_recurring_themes():
    started = time.perf_counter()
    result = demo.create_demo()
    assert time.perf_counter() - started < 15
    users = db.session.scalars(sa.select(User).where(User.practice_id == result.practice.id)).all()
    assert sorted(r for u in users for r in u.roles) == [
        "clinician",
        "clinician",
        "owner",
        "scheduler",
        "supervisor",
    ]
    assert all(u.email.endswith("@demo.practice.test") for u in users)
    clients = db.session.scalars(
        sa.select(Client).where(Client.practice_id == result.practice.id)
    ).all()
    assert len(clients) >= 3
    statuses = Counter(
        db.session.scalars(
            sa.select(Appointment.status).where(Appointment.practice_id == result.practice.id)
        )
    )
    assert statuses["attended"] > 0.8 * sum(statuses.values())
    assert statuses["cancelled"] + statuses["no_show"] > 0
    notes = Counter(
        db.session.scalars(
            sa.select(ProcessNote.status).where(ProcessNote.practice_id == result.practice.id)
        )
    )
    assert notes["signed"] >= 40 * len(clients)
    merged = db.session.scalars(sa.select(Script).where(Script.merged_into_id.is_not(None))).all()
    assert len(merged) == 1

    for client in clients:
        history = client_theme_history(client, {client.primary_clinician_id}, "Europe/Berlin")
        assert history["sessions"] >= 40
        recurring = [s for s in history["scripts"] if s["sessions_observed"] >= 5]
        assert len(recurring) >= 2
        focal = history["scripts"][0]
        assert focal["transference_count"] >= 3
        assert len([r for r in focal["by_figure_role"] if r != "therapist"]) >= 3
        assert focal["enactment_count"] >= 1 and focal["rupture_count"] >= 1
        assert focal["negative_response_share"]["trend"]["of_other"] < 0  # it is changing


def test_cli_prints_logins_and_if_empty_skips(app):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["practice", "demo"])
    assert out.exit_code == 0, out.output
    assert "ilse.marrow@demo.practice.test" in out.output
    assert demo.DEMO_PASSWORD in out.output
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Practice))
    again = runner.invoke(args=["practice", "demo", "--if-empty"])
    assert again.exit_code == 0
    assert "no demo created" in again.output
    # `make run` prints the logins on every start, not only the first
    assert "ilse.marrow@demo.practice.test" in again.output and demo.DEMO_PASSWORD in again.output
    refused = runner.invoke(args=["practice", "demo"])
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines() == [
        "practice: the demo practice exists already; the demo is only created in an empty "
        "database (--if-empty: do nothing, and print the demo logins if it is the demo)"
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Practice)) == count


def test_if_empty_on_an_empty_database_creates_it(app):
    assert not demo.any_practice()  # every test runs in a transaction rolled back after
    out = app.test_cli_runner().invoke(args=["practice", "demo", "--if-empty"])
    assert out.exit_code == 0 and "Created 'Lindenhof Demo Practice'" in out.output
    assert demo.any_practice()


def test_if_empty_with_a_practice_does_nothing(app):
    make_practice("Elsewhere Counselling")
    db.session.flush()
    out = app.test_cli_runner().invoke(args=["practice", "demo", "--if-empty"])
    assert out.exit_code == 0 and "no demo created" in out.output
    assert demo.DEMO_PASSWORD not in out.output
    refused = app.test_cli_runner().invoke(args=["practice", "demo"])
    assert refused.exit_code == 1 and "holds a practice already" in refused.output
    assert "Traceback" not in refused.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
