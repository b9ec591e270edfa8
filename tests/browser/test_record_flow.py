"""The clinical record in a real browser: a treatment plan whose goal names a script,
written and signed; a progress note for yesterday's session rating that goal, written,
signed and addended; the client page with the plan due for review; the author's own
copy of their process notes. Every page screenshotted and checked with axe-core."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from practice.extensions import db
from practice.notes import scripts
from practice.notes import service as notes
from practice.notes.figures import ensure_therapist_figure
from tests.browser.conftest import HERE, Shots
from tests.factories import PASSWORD, make_appointment, make_client, make_practice, make_user

pytestmark = pytest.mark.live


def _seed(server) -> dict:
    with server.app.app_context():
        practice = make_practice("Alder Yard Therapy", "Europe/Berlin")
        clinician = make_user(practice, ["clinician"], name="Dr Ines Roe", email="ines@alder.test")
        client = make_client(practice, clinician, first_name="Tomas", last_name="Brenner")
        yesterday = datetime.now(UTC).replace(microsecond=0, second=0) - timedelta(days=1)
        make_appointment(
            client, clinician, starts_at=yesterday, status="attended", modality="video"
        )
        script = scripts.create_script(
            clinician, client, {"name": "Expects to be left when he asks for something"}, "focal"
        )
        therapist = ensure_therapist_figure(client, clinician)
        episode = {
            "figure_id": str(therapist.id),
            "wish": "to hear that the next session is certain",
            "script_id": str(script.id),
        }
        notes.create_note(
            clinician,
            client,
            yesterday.date(),
            {
                "relationship_episodes": [episode],
                "narrative": {"summary": "He spoke of the move and looked at the door."},
            },
        )
        db.session.commit()
        return {"client": str(client.id)}


@pytest.fixture
def record_shots() -> Shots:
    import os

    database = os.environ.get("PRACTICE_TEST_DATABASE", "sqlite")
    return Shots(HERE / "screenshots" / database / "record")


def _sign_in(page: Page, base: str) -> None:
    page.goto(base + "/")
    page.get_by_label("Email").fill("ines@alder.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in")).click()


def test_writing_and_signing_a_plan_and_a_progress_note(live_server, browser, record_shots):
    seeded = _seed(live_server)
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    shots = record_shots
    _sign_in(page, base)
    page.goto(f"{base}/clients/{seeded['client']}")
    expect(page.get_by_role("heading", name="Tomas Brenner")).to_be_visible()

    # The treatment plan: a goal that names the client's script, an objective with a date.
    page.get_by_role("button", name="Write a treatment plan").click()
    expect(page.get_by_role("heading", name=re.compile("Treatment plan"))).to_be_visible()
    page.get_by_label("Problems (one per line)").fill(
        "Low mood since the move\nAvoids asking for help"
    )
    page.locator("#f-goal-0-text").fill("Notice the 'expects to be left' script as it happens")
    page.get_by_label("Expects to be left when he asks for something").check()
    page.locator("#f-goal-0-obj-0-text").fill("Names the script in session twice a month")
    page.locator("#f-goal-0-obj-0-date").fill("2027-03-01")
    page.get_by_label("Planned interventions (one per line)").fill(
        "Exploration of the transference\nClarification of the wish"
    )
    page.get_by_label("Session frequency").select_option("weekly")
    review = date.today() + timedelta(days=5)
    page.get_by_label("Review by").fill(review.isoformat())
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    shots.take(page, "plan-editor")
    page.get_by_role("link", name="Sign…").click()
    shots.take(page, "plan-sign")
    page.get_by_role("button", name="Sign the treatment plan").click()
    expect(page.get_by_text("in force")).to_be_visible()
    expect(
        page.get_by_role("link", name="Expects to be left when he asks for something")
    ).to_be_visible()
    shots.take(page, "plan")

    # The client page: the plan is due for review (its date is within two weeks).
    page.goto(f"{base}/clients/{seeded['client']}")
    expect(page.locator("#plan-due")).to_contain_text("Due for review")
    shots.take(page, "client-with-record")

    # The progress note for yesterday's session.
    page.get_by_role("button", name="Write a progress note").click()
    expect(page.get_by_role("heading", name=re.compile("Progress note"))).to_be_visible()
    page.get_by_label("Service code").select_option("90834")
    page.get_by_label("Diagnosis codes (ICD-10-CM, separated by commas)").fill("F32.1, F41.1")
    page.get_by_label("Presenting concerns").fill(
        "Sleeping badly since the move; fewer calls home."
    )
    page.get_by_label("Mood: finding").select_option("depressed")
    page.get_by_label("Mood: words").fill("flat, tired")
    page.get_by_label("Affect: finding").select_option("restricted")
    page.get_by_label("Insight: finding").select_option("fair")
    page.get_by_label("Suicidal ideation").select_option("passive")
    page.get_by_label("Risk level").select_option("low")
    page.get_by_label("a safety plan in place").check()
    page.get_by_label("Protective factors").fill("His sister; the dog; work he values.")
    page.get_by_label("clarification").check()
    page.get_by_label("exploration of transference").check()
    page.get_by_label("Rating").select_option("some_progress")
    page.get_by_label("How").fill("Noticed it once, when the session ended.")
    page.get_by_label("Plan", exact=True).fill("Weekly; review the safety plan next time.")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    shots.take(page, "progress-note-editor")
    # A bad diagnosis code is answered beside the form, the words kept.
    page.get_by_label("Diagnosis codes (ICD-10-CM, separated by commas)").fill("F32.1, depression")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.locator("#error-summary")).to_contain_text("Not an ICD-10-CM code")
    expect(page.get_by_label("Presenting concerns")).to_have_value(
        "Sleeping badly since the move; fewer calls home."
    )
    shots.take(page, "progress-note-bad-code")
    page.get_by_label("Diagnosis codes (ICD-10-CM, separated by commas)").fill("F32.1, F41.1")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()
    page.get_by_role("link", name="Sign…").click()
    page.get_by_role("button", name="Sign the progress note").click()
    expect(page.get_by_text("signed", exact=True).first).to_be_visible()
    expect(page.get_by_text("F32.1, F41.1")).to_be_visible()
    expect(page.get_by_text("some progress")).to_be_visible()
    page.get_by_label("Add an addendum").fill("Sister confirmed she will call on Sundays.")
    page.get_by_role("button", name="Add the addendum").click()
    expect(page.get_by_text("Sister confirmed she will call on Sundays.")).to_be_visible()
    expect(page.get_by_role("link", name="Edit the draft")).to_have_count(0)
    shots.take(page, "progress-note-signed")

    # The author's own copy of their process notes, printable.
    page.goto(f"{base}/clients/{seeded['client']}")
    page.get_by_role("link", name=re.compile("Your own copy")).click()
    expect(page.get_by_text("He spoke of the move and looked at the door.")).to_be_visible()
    expect(page.get_by_text("to hear that the next session is certain")).to_be_visible()
    expect(page.get_by_text(re.compile("with Therapist"))).to_be_visible()
    shots.take(page, "own-copy")
    context.close()
