"""The front desk and the owner in a real browser: the scheduler registers a client who
may already be registered (sees the warning, registers anyway) and finds nothing of the
audit log; a clinician creates an API token and a calendar feed link; the owner creates
a user (temporary password shown once), looks at supervision, rooms and settings,
deactivates the clinician — whose open browser is signed out at its next click — and
reads the audit log with the chain's state. Every page screenshotted and axe-checked."""

from __future__ import annotations

import os
import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from practice.auth import totp
from practice.clients.models import Client
from practice.extensions import db
from tests.browser.conftest import HERE, Shots
from tests.factories import PASSWORD, link_supervisor, make_practice, make_user

pytestmark = pytest.mark.live


def _seed(server) -> None:
    with server.app.app_context():
        practice = make_practice("Alder Court Therapy", "Europe/Berlin")
        practice.phone_region = "DE"
        owner = make_user(practice, ["owner"], name="Olive Owner", email="olive@alder.test")
        make_user(practice, ["scheduler"], name="Sami Front", email="sami@alder.test")
        ines = make_user(practice, ["clinician"], name="Dr Ines Kalt", email="ines@alder.test")
        make_user(practice, ["clinician"], name="Dr Teo Marsh", email="teo@alder.test")
        supervisor = make_user(
            practice, ["clinician", "supervisor"], name="Dr Sol Brandt", email="sol@alder.test"
        )
        link_supervisor(owner, supervisor, ines)
        totp.begin_enrolment(supervisor)  # Sol has a second factor (and will lose his phone)
        supervisor.totp_enabled = True
        db.session.add(
            Client(
                practice_id=practice.id,
                first_name="Rosa",
                last_name="Hartmann",
                date_of_birth=date(1980, 5, 6),
                email="rosa.h@example.test",
                primary_clinician_id=ines.id,
                status="active",
                intake_date=date(2026, 2, 2),
            )
        )
        db.session.commit()


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^Sign in")).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_the_front_desk_and_the_owner(live_server, browser):
    _seed(live_server)
    base = live_server.url
    shots = Shots(
        HERE / "screenshots" / os.environ.get("PRACTICE_TEST_DATABASE", "sqlite") / "owner"
    )

    # The scheduler registers Rosa Hartmann again: the page warns, she registers anyway.
    desk = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True).new_page()
    _sign_in(desk, base, "sami@alder.test")
    nav = desk.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    expect(nav.get_by_role("link", name="Practice")).to_have_count(0)
    _nav(desk, "Clients")
    expect(desk.get_by_role("heading", name="Clients")).to_be_visible()
    expect(desk.get_by_role("link", name="Hartmann, Rosa")).to_be_visible()
    shots.take(desk, "desk-clients")
    desk.get_by_role("link", name="Register a client").click()
    desk.get_by_label("First name").fill("rosa")
    desk.get_by_label("Last name").fill("HARTMANN")
    desk.get_by_label("Date of birth").fill("1980-05-06")
    desk.get_by_label("Phone").fill("030 1234567")
    desk.get_by_label("Primary clinician").select_option(label="Dr Teo Marsh")
    shots.take(desk, "desk-register")
    desk.get_by_role("button", name="Register").click()
    warning = desk.get_by_role("alert")
    expect(warning).to_contain_text("This may be a client who is already registered")
    expect(warning).to_contain_text("same name and date of birth")
    expect(desk.get_by_label("Phone")).to_have_value("030 1234567")  # the form is kept
    shots.take(desk, "desk-possible-duplicate")
    desk.get_by_label(re.compile("Register as a new client anyway")).check()
    desk.get_by_role("button", name="Register").click()
    expect(desk.get_by_role("status")).to_have_text("The client is registered.")
    expect(desk.get_by_role("heading", name="rosa HARTMANN")).to_be_visible()
    expect(desk.get_by_text("+49301234567")).to_be_visible()  # the practice's phone region
    expect(desk.get_by_text("Process notes")).to_have_count(0)
    shots.take(desk, "desk-client")
    # A bad date keeps the rest of the form and says what is wrong beside the field.
    desk.get_by_label("Status").select_option("discharged")
    desk.get_by_label("Intake date").fill("2026-02-01")
    desk.get_by_label("Discharge date").fill("2025-01-01")
    desk.get_by_role("button", name="Save changes").click()
    expect(desk.locator("#err-discharge_date")).to_contain_text("before the intake date")
    shots.take(desk, "desk-client-refused")
    # Nothing of the audit log: no link, and its address is the app's "page not found".
    desk.goto(base + "/admin/audit")
    expect(desk.get_by_role("heading", name="Page not found")).to_be_visible()
    shots.take(desk, "desk-audit-not-found")

    # A clinician (in their own browser) makes an API token and a calendar feed link.
    teo = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True).new_page()
    _sign_in(teo, base, "teo@alder.test")
    _nav(teo, "Account")
    teo.get_by_role("link", name="Your API tokens").click()
    teo.get_by_label("Name (what it is for)").fill("calendar sync")
    teo.get_by_label("Your password, again").fill(PASSWORD)
    teo.get_by_role("button", name="Create token").click()
    expect(teo.get_by_label("The token")).to_have_value(re.compile("^pt_"))
    shots.take(teo, "tokens-created")
    _nav(teo, "Account")
    teo.get_by_role("link", name="Your calendar feed").click()
    shots.take(teo, "calendar-off")
    teo.get_by_role("button", name="Turn on the feed and show its link").click()
    expect(teo.get_by_label("Feed link")).to_have_value(re.compile("calendar.ics"))
    shots.take(teo, "calendar-link")

    # The owner: users, a new user, supervision, rooms, settings.
    owner = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True).new_page()
    _sign_in(owner, base, "olive@alder.test")
    _nav(owner, "Practice")
    expect(owner.get_by_role("heading", name="Users")).to_be_visible()
    shots.take(owner, "owner-users")
    owner.get_by_role("link", name="Create a user").click()
    owner.get_by_label("Name", exact=True).fill("Nia Fenwick")
    owner.get_by_label("Email (their sign-in name)").fill("nia@alder.test")
    owner.get_by_label("scheduler").check()
    shots.take(owner, "owner-new-user")
    owner.get_by_role("button", name="Create user").click()
    password = owner.locator("#temporary-password").inner_text()
    assert len(password) >= 16
    shots.take(owner, "owner-user-created")
    owner.get_by_role("link", name="Supervision").click()
    expect(owner.get_by_text("in effect")).to_be_visible()
    owner.get_by_label("Supervisor").select_option(label="Dr Sol Brandt")
    owner.get_by_label("Clinician").select_option(label="Dr Teo Marsh")
    owner.get_by_role("button", name="Ask the clinician").click()
    expect(owner.get_by_role("status")).to_contain_text("only when the clinician accepts")
    shots.take(owner, "owner-supervision")
    owner.get_by_role("link", name="Rooms").click()
    owner.get_by_label("Name", exact=True).fill("Garden Room")
    owner.get_by_role("button", name="Add room").click()
    expect(owner.get_by_role("status")).to_have_text("The room is added.")
    shots.take(owner, "owner-rooms")
    owner.get_by_role("link", name="Practice settings").click()
    owner.get_by_label(re.compile("Region for phone numbers")).fill("zz")
    owner.get_by_role("button", name="Save settings").click()
    expect(owner.locator("#err-phone_region")).to_be_visible()
    shots.take(owner, "owner-settings-refused")

    # Sol lost his phone: the owner removes his second factor with her own password.
    owner.get_by_role("link", name="Users").click()
    owner.get_by_role("link", name="Dr Sol Brandt").click()
    reset = owner.get_by_role("button", name="Reset Dr Sol Brandt's second factor")
    owner.get_by_label("Your own password").fill("not my password at all")
    reset.click()
    expect(owner.get_by_role("alert")).to_contain_text("The second factor was not reset")
    shots.take(owner, "owner-factor-reset-refused")
    owner.get_by_label("Your own password").fill(PASSWORD)
    reset.click()
    expect(owner.get_by_role("status")).to_contain_text("The second factor is removed")
    shots.take(owner, "owner-factor-reset")

    # Deactivating Teo ends his session: his open browser is signed out at its next click.
    owner.get_by_role("link", name="Users").first.click()
    owner.get_by_role("link", name="Dr Teo Marsh").click()
    shots.take(owner, "owner-user")
    owner.get_by_role("button", name="Deactivate Dr Teo Marsh").click()
    expect(owner.get_by_role("status")).to_contain_text("sessions have ended")
    shots.take(owner, "owner-user-deactivated")
    _nav(teo, "My week")
    expect(teo.get_by_role("heading", name="You were signed out")).to_be_visible()
    shots.take(teo, "teo-signed-out")

    # The audit log, in plain words, with the chain's state; filter to one action.
    _nav(owner, "Audit log")
    expect(owner.locator("#chain-state")).to_contain_text(re.compile(r"Intact, \d+ entries"))
    entries = owner.locator("table")
    expect(entries.get_by_text("User deactivated")).to_have_count(1)
    expect(entries.get_by_text("Client registered despite a possible duplicate")).to_have_count(1)
    shots.take(owner, "owner-audit")
    owner.get_by_label("Action").select_option(label="User deactivated")
    owner.get_by_role("button", name="Filter").click()
    expect(owner.get_by_text("1 entry match")).to_be_visible()
    shots.take(owner, "owner-audit-filtered")
