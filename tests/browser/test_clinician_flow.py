"""A clinician's day in a real browser: sign in with TOTP, the week, a note with two
episodes (one with the therapist) and a transference, a stale save in a second tab with
both texts recovered, signing, an addendum, the theme history and a script's notes; then
the supervisor finds no edit control and the scheduler no clinical link."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from playwright.sync_api import Page, expect

from practice.auth import totp
from practice.extensions import db
from practice.notes import scripts
from practice.notes.figures import create_figure, ensure_therapist_figure
from tests.factories import (
    PASSWORD,
    link_supervisor,
    make_appointment,
    make_client,
    make_practice,
    make_user,
)

pytestmark = pytest.mark.live


def _seed(server) -> dict:
    with server.app.app_context():
        practice = make_practice("Birch Row Therapy", "Europe/Berlin")
        owner = make_user(practice, ["owner"], name="Orla Owner", email="orla@birch.test")
        clinician = make_user(practice, ["clinician"], name="Dr Hana Vell", email="hana@birch.test")
        supervisor = make_user(
            practice, ["clinician", "supervisor"], name="Dr Sol Brandt", email="sol@birch.test"
        )
        make_user(practice, ["scheduler"], name="Finn Desk", email="finn@birch.test")
        link_supervisor(owner, supervisor, clinician)
        client = make_client(practice, clinician, first_name="Mara", last_name="Linden")
        now = datetime.now(UTC).replace(microsecond=0, second=0)
        make_appointment(client, clinician, starts_at=now - timedelta(hours=1))
        make_appointment(client, clinician, starts_at=now + timedelta(days=1, hours=2))
        ensure_therapist_figure(client, clinician)
        create_figure(clinician, client, {"label": "Mum", "role": "mother", "period": "current"})
        scripts.create_script(
            clinician,
            client,
            {"name": "Expects to be dropped the moment she needs someone", "wish": "to be held"},
            "focal",
        )
        seed, _uri = totp.begin_enrolment(clinician)
        totp.enable(clinician, pyotp.TOTP(seed).at(time.time() - 30))
        db.session.commit()
        return {"seed": seed, "client": str(client.id)}


def _sign_in(page: Page, base: str, email: str, code: str | None = None) -> None:
    page.goto(base + "/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if code:
        page.get_by_label("Code from your authenticator app").fill(code)
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You signed out.")).to_be_visible()


def test_a_clinicians_day(live_server, browser, shots):
    seeded = _seed(live_server)
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.goto(base + "/")
    shots.take(page, "sign-in")
    _sign_in(page, base, "hana@birch.test", pyotp.TOTP(seeded["seed"]).now())
    expect(page.get_by_role("heading", name=re.compile("My week"))).to_be_visible()
    expect(page.get_by_text("Today", exact=True)).to_be_visible()
    shots.take(page, "week")
    page.get_by_role("button", name=re.compile("^Attended")).first.click()
    expect(page.locator(".status-attended")).to_have_count(1)

    page.get_by_role("link", name="Mara Linden").first.click()
    expect(page.get_by_role("heading", name="Mara Linden")).to_be_visible()
    shots.take(page, "client")
    page.get_by_label("Session date").fill(datetime.now(UTC).date().isoformat())
    page.get_by_role("button", name="Start a note").click()

    # Two episodes, added by keyboard: the focus lands in the new one.
    page.get_by_role("button", name="Add an episode").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#f-relationship_episodes-0-figure_id")).to_be_focused()
    page.get_by_label("With whom").select_option(label="Therapist")
    page.get_by_label("Wish", exact=True).fill("to be reassured she is not too much")
    page.get_by_role("button", name="Add an episode").click()
    page.locator("#f-relationship_episodes-1-figure_id").select_option(label="Mum (mother)")
    page.locator("#f-relationship_episodes-1-wish").fill("to be praised for the exam")
    page.locator("#f-relationship_episodes-1-response_of_other").fill("changed the subject")
    page.locator("#f-relationship_episodes-1-ro_valence").select_option("negative")
    page.locator("#f-relationship_episodes-1-script_id").select_option(index=1)
    page.get_by_label("Yes").first.check()
    page.get_by_label("Transference notes", exact=True).fill("Watched my face for disapproval.")
    page.get_by_label("Summary of the session").fill("Tab one: the exam and her mother.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved (version 2)")).to_be_visible()
    shots.take(page, "note-editor")
    edit_url = page.url.split("?")[0]

    # A second tab saves first; the first tab's save then shows both texts.
    other = context.new_page()
    other.goto(edit_url)
    other.get_by_label("Summary of the session").fill("Tab two: a later thought.")
    other.get_by_role("button", name="Save draft").click()
    expect(other.get_by_text("Draft saved (version 3)")).to_be_visible()
    other.close()
    page.get_by_label("Summary of the session").fill("Tab one: the exam, her mother, and me.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Someone saved this draft after you opened it")).to_be_visible()
    expect(page.locator(".theirs")).to_contain_text("Tab two: a later thought.")
    expect(page.get_by_label("Summary of the session")).to_have_value(
        "Tab one: the exam, her mother, and me."
    )
    shots.take(page, "stale-save")
    page.get_by_role("button", name="Save draft").click()  # mine, now knowingly
    expect(page.get_by_text("Draft saved (version 4)")).to_be_visible()

    page.get_by_role("link", name="Sign this note…").click()
    shots.take(page, "sign-confirm")
    page.get_by_role("button", name="Sign the note").click()
    expect(page.locator(".tag.signed")).to_be_visible()
    expect(page.get_by_text("Watched my face for disapproval.")).to_be_visible()
    page.get_by_label("Add an addendum").fill("She phoned the next day to say thank you.")
    page.get_by_role("button", name="Add addendum").click()
    expect(page.get_by_text("She phoned the next day to say thank you.")).to_be_visible()
    shots.take(page, "note-signed")

    page.goto(f"{base}/clients/{seeded['client']}/themes")
    expect(page.get_by_role("heading", name=re.compile("Theme history — ML"))).to_be_visible()
    expect(
        page.get_by_role("link", name="Expects to be dropped the moment she needs someone").first
    ).to_be_visible()
    shots.take(page, "themes")
    page.get_by_role(
        "link", name="Expects to be dropped the moment she needs someone"
    ).first.click()
    shots.take(page, "script-timeline")
    page.get_by_role("link", name=re.compile("Open the note")).first.click()
    expect(page.get_by_role("heading", name=re.compile("Process note"))).to_be_visible()

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    page.goto(f"{base}/week/{tomorrow}")
    page.locator(".appt.status-scheduled .when a").first.click()
    expect(page.get_by_role("heading", name=re.compile("Before the session"))).to_be_visible()
    expect(page.get_by_text("Tab one: the exam, her mother, and me.")).to_be_visible()
    shots.take(page, "before-the-session")

    for path, name in (
        ("/account", "account"),
        ("/account/password", "password"),
        ("/account/two-factor", "two-factor"),
        ("/clients", "clients"),
        (f"/clients/{seeded['client']}/scripts/new", "new-script"),
        (f"/clients/{seeded['client']}/figures/new", "new-figure"),
        ("/notes/00000000-0000-0000-0000-000000000000", "not-found"),
    ):
        page.goto(base + path)
        shots.take(page, name)
    _sign_out(page)

    _sign_in(page, base, "sol@birch.test")
    page.goto(base + "/supervision")
    shots.take(page, "supervision")
    page.get_by_role("link", name="Mara Linden", exact=True).click()
    expect(page.get_by_text("Read-only")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Open")).first.click()
    expect(page.get_by_role("heading", name=re.compile("Process note"))).to_be_visible()
    shots.take(page, "supervisor-note")
    assert page.locator("main form, main textarea, main a[href$='/edit']").count() == 0
    _sign_out(page)

    _sign_in(page, base, "finn@birch.test")
    expect(page.get_by_role("heading", name=re.compile("The practice"))).to_be_visible()
    assert page.locator("a[href^='/clients'], a[href^='/week'], a[href^='/notes']").count() == 0
    page.goto(f"{base}/clients/{seeded['client']}")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    shots.take(page, "scheduler-404")
    context.close()
