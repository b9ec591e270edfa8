"""Measures in a real browser: a clinician records a PHQ-9 for a session with the keyboard
-friendly radio groups, a partial form is answered beside its item, the scores page shows
bands and change, item 9 raises the flag on the client's page, and the theme history
shows the score lane under the scripts. axe-core on every page; screenshots into
tests/browser/screenshots/<database>/measures/."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from playwright.sync_api import Page, expect

from practice.extensions import db
from practice.notes import scripts
from practice.notes.figures import ensure_therapist_figure
from tests.browser.conftest import HERE, Shots
from tests.factories import PASSWORD, make_appointment, make_client, make_practice, make_user
from tests.themes.factories import make_note

pytestmark = pytest.mark.live
ANSWERS = ["Not at all", "Several days", "More than half the days", "Nearly every day"]


def _seed(server) -> dict:
    with server.app.app_context():
        practice = make_practice("Alder Lane Therapy", "Europe/Berlin")
        clinician = make_user(practice, ["clinician"], name="Dr Ines Roe", email="ines@alder.test")
        client = make_client(practice, clinician, first_name="Tove", last_name="Marsh")
        ensure_therapist_figure(client, clinician)
        script = scripts.create_script(
            clinician, client, {"name": "Braces for being let down"}, "focal"
        )
        start = date.today() - timedelta(weeks=3)
        for week in range(3):
            day = start + timedelta(weeks=week)
            appointment = make_appointment(
                client,
                clinician,
                starts_at=datetime.combine(day, time(9), tzinfo=UTC),
                status="attended",
            )
            make_note(
                client, clinician, day, {"scripts_active": [str(script.id)]},
                appointment=appointment,
            )  # fmt: skip
        db.session.commit()
        return {"client": str(client.id)}


def _answer(page: Page, totals: list[int]) -> None:
    """Tick one answer per item, by its legend and label, as a person would."""
    for item, value in enumerate(totals, 1):
        group = page.get_by_role("group", name=re.compile(rf"^{item}\. "))
        group.get_by_label(f"{ANSWERS[value]} ({value})").check()


def test_recording_and_reading_measures(live_server, browser):
    seeded = _seed(live_server)
    database = os.environ.get("PRACTICE_TEST_DATABASE", "sqlite")
    shots = Shots(HERE / "screenshots" / database / "measures")
    base = live_server.url
    # bypass_csp only so that axe-core can be injected; the pages themselves set a strict CSP.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.goto(base + "/")
    page.get_by_label("Email").fill("ines@alder.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in")).click()
    page.goto(f"{base}/clients/{seeded['client']}")
    page.get_by_role("link", name="Measures").click()
    expect(page.get_by_role("heading", name=re.compile("^Measures"))).to_be_visible()
    shots.take(page, "scores-empty")

    for session, totals in ((3, [3, 3, 2, 1, 1, 1, 1, 0, 0]), (2, [1, 1, 1, 1, 0, 0, 0, 0, 0])):
        page.get_by_role("link", name="Record a PHQ-9").click()
        sessions = page.get_by_label("Session")
        sessions.select_option(index=session)  # newest first: 3 is the oldest
        _answer(page, totals)
        if session == 3:
            shots.take(page, "record-phq9")
        page.get_by_role("button", name="Save the PHQ-9").click()
        expect(page.get_by_role("heading", name=re.compile("^Measures"))).to_be_visible()
    expect(page.get_by_role("cell", name="Moderate", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="reliable improvement")).to_be_visible()
    shots.take(page, "scores")

    # A partial form is kept and answered beside the missing item.
    page.get_by_role("link", name="Record a PHQ-9").click()
    page.get_by_label("Session").select_option(index=1)
    _answer(page, [1, 1, 1, 1, 1, 1, 1, 1])
    page.get_by_role("button", name="Save the PHQ-9").click()
    expect(page.get_by_role("alert")).to_contain_text("A risk item must be answered")
    shots.take(page, "record-partial")
    page.get_by_role("group", name=re.compile(r"^9\. ")).get_by_label("Several days (1)").check()
    page.get_by_role("button", name="Save the PHQ-9").click()
    expect(page.get_by_role("heading", name="Risk item answered")).to_be_visible()

    page.goto(f"{base}/clients/{seeded['client']}")
    expect(page.get_by_role("heading", name="Risk item answered")).to_be_visible()
    shots.take(page, "client-flag")
    page.get_by_role("link", name="Theme history").first.click()
    expect(page.get_by_role("rowheader", name=re.compile("^PHQ-9"))).to_be_visible()
    shots.take(page, "theme-history-lane")

    # The form with item 9 was entered wrongly: marked void, it no longer counts or flags.
    page.goto(f"{base}/clients/{seeded['client']}/measures")
    latest = page.locator("tbody tr").last
    latest.get_by_text("Mark as entered in error").click()
    latest.get_by_label("Why").select_option(label="Answers entered wrongly")
    shots.take(page, "void-open")
    latest.get_by_role("button", name="Mark void").click()
    expect(page.get_by_role("heading", name="Entered in error")).to_be_visible()
    expect(page.get_by_role("heading", name="Risk item answered")).to_have_count(0)
    shots.take(page, "scores-after-void")
    context.close()
