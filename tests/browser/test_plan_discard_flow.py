"""A draft treatment plan whose author has left the client's care, discarded in a real
browser by the clinician now in the care: the plan page offers it, a confirmation says
what happens, and a new version can be started. Every page screenshotted and checked
with axe-core."""

from __future__ import annotations

import os
import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from practice.actor import Actor
from practice.extensions import db
from practice.record import plans
from tests.browser.conftest import HERE, Shots
from tests.factories import PASSWORD, make_client, make_practice, make_user

pytestmark = pytest.mark.live


def _seed(server) -> dict:
    """Dr Roe is Tomas Brenner's clinician; Dr Vale, who wrote the draft plan, has left
    his care (she is not on the care team any more)."""
    with server.app.app_context():
        practice = make_practice("Alder Yard Therapy", "Europe/Berlin")
        roe = make_user(practice, ["clinician"], name="Dr Ines Roe", email="ines@alder.test")
        vale = make_user(practice, ["clinician"], name="Dr Mara Vale", email="mara@alder.test")
        client = make_client(practice, roe, first_name="Tomas", last_name="Brenner")
        goal = {"text": "Notice the script as it happens"}
        draft, _content = plans.create_plan(
            Actor(user=vale, via="session"), client, {"goals": [goal]}, date(2027, 6, 1)
        )
        db.session.commit()
        return {"client": str(client.id), "draft": str(draft.id)}


def _sign_in(page: Page, base: str) -> None:
    page.goto(base + "/")
    page.get_by_label("Email").fill("ines@alder.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in")).click()


def test_discarding_a_draft_left_by_a_clinician_who_left_the_care(live_server, browser):
    seeded = _seed(live_server)
    base = live_server.url
    database = os.environ.get("PRACTICE_TEST_DATABASE", "sqlite")
    shots = Shots(HERE / "screenshots" / database / "plan-discard")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    _sign_in(page, base)
    page.goto(f"{base}/treatment-plans/{seeded['draft']}")
    expect(page.get_by_role("link", name="Edit the draft")).to_have_count(0)
    shots.take(page, "draft-of-a-colleague-who-left")
    page.get_by_role("link", name="Discard this draft…").click()
    expect(page.get_by_text("cannot be undone")).to_be_visible()
    shots.take(page, "discard-confirmation")
    page.get_by_role("button", name="Discard the draft").click()
    expect(page.get_by_role("heading", name=re.compile("Treatment plan"))).to_be_visible()
    assert page.url.endswith(f"/clients/{seeded['client']}/treatment-plans")
    expect(page.get_by_text("draft", exact=True)).to_have_count(0)
    shots.take(page, "versions-after-discard")
    page.get_by_role("button", name="Write a treatment plan").click()
    expect(page.get_by_role("button", name="Save the draft")).to_be_visible()
    shots.take(page, "new-draft")
    context.close()
