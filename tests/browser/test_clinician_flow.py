"""A clinician's day in a real browser: sign in with TOTP, the week, a note with two
episodes (one with the therapist) and a transference, a stale save in a second tab with
both texts recovered, signing, an addendum, the theme history and a script's notes; then
the supervisor finds no edit control and the scheduler no clinical link."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from practice.auth import totp
from practice.auth.models import UserSession
from practice.database import utcnow
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
        codes = totp.enable(clinician, pyotp.TOTP(seed).at(time.time() - 30))
        db.session.commit()
        server.app.extensions["ccrt_tags"] = CCRT_TAGS
        return {
            "seed": seed,
            "codes": codes,
            "client": str(client.id),
            "clinician": str(clinician.id),
        }


CCRT_TAGS = {
    "wish": ["to be close", "to be respected"],
    "response_of_other": ["rejecting", "controlling"],
    "response_of_self": ["withdrawn", "compliant"],
}


def _end_sessions(server, user_id: str) -> None:
    """The server ends the user's sessions, as the idle timeout does."""
    with server.app.app_context():
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.user_id == uuid.UUID(user_id), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow(), ended_reason="idle_timeout")
        )
        db.session.commit()


def _sign_in(page: Page, base: str, email: str, code: str | None = None, shots=None) -> None:
    page.goto(base + "/")
    _password_step(page, email, code, shots)


def _password_step(page: Page, email: str, code: str | None, shots=None) -> None:
    """The sign-in form, then (for a second factor) the code page."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in")).click()
    if code:
        expect(page.get_by_role("heading", name="Two-factor code")).to_be_visible()
        if shots:
            shots.take(page, "sign-in-code")
        page.get_by_label("Code from your authenticator app").fill(code)
        page.get_by_role("button", name="Continue").click()


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
    _sign_in(page, base, "hana@birch.test", pyotp.TOTP(seeded["seed"]).now(), shots)
    expect(page.get_by_role("heading", name=re.compile("My week"))).to_be_visible()
    expect(page.get_by_text("Today", exact=True)).to_be_visible()
    shots.take(page, "week")
    # Marked by htmx: the card changes in place (no reload) and keeps the keyboard.
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name=re.compile("^Attended")).first.click()
    expect(page.locator(".status-attended")).to_have_count(1)
    expect(page.locator(".status-attended")).to_be_focused()
    assert page.evaluate("window.notReloaded === true")
    # A tablet held upright sees the whole week without scrolling sideways.
    page.set_viewport_size({"width": 768, "height": 1024})
    page.reload()
    grid = page.locator(".scroll")
    assert grid.evaluate("el => el.scrollWidth <= el.clientWidth"), "the week scrolls sideways"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shots.take(page, "week-tablet")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name="Mara Linden").first.click()
    expect(page.get_by_role("heading", name="Mara Linden")).to_be_visible()
    shots.take(page, "client")
    page.get_by_label("Session date").fill(datetime.now(UTC).date().isoformat())
    page.clock.install()  # the editor's autosave timer runs on this clock
    page.get_by_role("button", name="Start a note").click()

    # Two episodes, added by keyboard: the focus lands in the new one.
    page.get_by_role("button", name="Add an episode").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#f-relationship_episodes-0-figure_id")).to_be_focused()
    page.get_by_label("With whom").select_option(label="Therapist")
    page.get_by_label("Wish", exact=True).fill("to be reassured she is not too much")
    # The practice's CCRT tags beside the quick picks (valences).
    page.get_by_label("Wish — standard tag").select_option("to be respected")
    page.get_by_label("Response of other — standard tag").select_option("rejecting")
    page.get_by_role("button", name="Add an episode").click()
    expect(page.locator("#f-relationship_episodes-1-figure_id")).to_be_focused()
    expect(page.get_by_label("Wish", exact=True).first).to_have_value(
        "to be reassured she is not too much"
    )
    page.locator("#f-relationship_episodes-1-figure_id").select_option(label="Mum (mother)")
    page.locator("#f-relationship_episodes-1-wish").fill("to be praised for the exam")
    page.locator("#f-relationship_episodes-1-response_of_other").fill("changed the subject")
    page.locator("#f-relationship_episodes-1-ro_valence").select_option("negative")
    page.locator("#f-relationship_episodes-1-script_id").select_option(index=1)
    page.get_by_label("Yes").first.check()
    page.get_by_label("Transference notes", exact=True).fill("Watched my face for disapproval.")
    page.get_by_label("Summary of the session").fill("Tab one: the exam and her")
    # Typing is saved by itself every 20 seconds, with the form's version.
    page.clock.run_for(21_000)
    expect(page.locator("#autosave")).to_contain_text("Saved automatically at")
    assert page.locator("#f-version").input_value() == "2"
    page.get_by_label("Summary of the session").fill("Tab one: the exam and her mother.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved (version 3)")).to_be_visible()
    shots.take(page, "note-editor")
    edit_url = page.url.split("?")[0]

    # The session ends while she types: the autosave says so, "Save draft" keeps the
    # text through signing in again (password and code), and it is saved then.
    page.get_by_label("Plan", exact=True).fill("Ask about the exam results.")
    _end_sessions(live_server, seeded["clinician"])
    page.clock.run_for(21_000)
    expect(page.locator("#autosave")).to_contain_text("You were signed out")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", name="You were signed out")).to_be_visible()
    expect(page.get_by_text("What you had just written is not lost.")).to_be_visible()
    shots.take(page, "signed-out-keeping-the-draft")
    _password_step(page, "hana@birch.test", seeded["codes"][0])
    expect(page.get_by_role("heading", name="Save what you wrote")).to_be_visible()
    shots.take(page, "save-what-you-wrote")
    page.get_by_role("button", name="Save it now").click()
    expect(page.get_by_text("Draft saved (version 4)")).to_be_visible()
    expect(page.get_by_label("Plan", exact=True)).to_have_value("Ask about the exam results.")

    # A second tab saves first; the first tab's save then shows both texts.
    other = context.new_page()
    other.goto(edit_url)
    other.get_by_label("Summary of the session").fill("Tab two: a later thought.")
    other.get_by_role("button", name="Save draft").click()
    expect(other.get_by_text("Draft saved (version 5)")).to_be_visible()
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
    expect(page.get_by_text("Draft saved (version 6)")).to_be_visible()

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
    expect(page.get_by_text("Contact details and date of birth are not shown")).to_be_visible()
    shots.take(page, "supervisor-client")
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
