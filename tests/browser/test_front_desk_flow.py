"""The front desk in a real browser: the practice's day, a weekly series booked across
the spring clock change that stays at 10:00, a clinician outside the client's care added
in the same step, a conflict and an offered free time taken, one occurrence moved and the
series then edited around it, a cancellation recorded and undone; a time that does not
exist said in plain words; the rooms view and a clinician's week."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from practice.extensions import db
from practice.scheduling.models import Room
from tests.browser.conftest import HERE, Shots
from tests.factories import PASSWORD, make_client, make_practice, make_user

pytestmark = pytest.mark.live


@pytest.fixture
def desk_shots() -> Shots:
    database = os.environ.get("PRACTICE_TEST_DATABASE", "sqlite")
    return Shots(HERE / "screenshots" / database / "front-desk")


def _seed(server) -> None:
    with server.app.app_context():
        practice = make_practice("Birch Row Therapy", "Europe/Berlin")
        make_user(practice, ["scheduler"], name="Finn Desk", email="finn@birch.test")
        hana = make_user(practice, ["clinician"], name="Dr Hana Vell", email="hana@birch.test")
        ola = make_user(practice, ["clinician"], name="Dr Ola Brook", email="ola@birch.test")
        make_client(practice, hana, first_name="Mara", last_name="Linden")
        make_client(practice, ola, first_name="Jon", last_name="Ashgrove")
        db.session.add(Room(practice_id=practice.id, name="Garden room"))
        db.session.commit()


def _fill_booking(page: Page, name: str, clinician: str, day: str, at: str) -> None:
    page.get_by_label("Find the client by name").fill(name)
    page.get_by_role("button", name="Find").click()
    page.get_by_role("radio", name=re.compile(name)).check()
    page.get_by_label("Clinician").select_option(label=clinician)
    page.get_by_label("Room").select_option(label="Garden room")
    page.get_by_label("Date", exact=True).fill(day)
    page.get_by_label("Time", exact=True).fill(at)


def _open(page: Page, base: str, day: str, text: str) -> None:
    """Open the appointment at `text` (its time range) on the practice's day."""
    page.goto(f"{base}/day/{day}")
    page.locator(".appt .when a", has_text=text).first.click()


def _change_form(page: Page):
    return page.get_by_role("form", name="Move or change")


def test_the_front_desks_day(live_server, browser, desk_shots):
    _seed(live_server)
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.goto(base + "/")
    page.get_by_label("Email").fill("finn@birch.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("The practice"))).to_be_visible()
    desk_shots.take(page, "today")

    page.get_by_label("Go to date").fill("2027-03-15")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", name=re.compile("Monday 15 March 2027"))).to_be_visible()
    page.get_by_role("link", name="Book an appointment").click()
    desk_shots.take(page, "booking-form")

    # A weekly series across the spring change (Sun 28 Mar 2027 in Berlin) stays at 10:00.
    _fill_booking(page, "Linden", "Dr Hana Vell", "2027-03-15", "10:00")
    page.get_by_label("Repeats").select_option(label="every week")
    page.get_by_label("Number of appointments").fill("4")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("Booked: 4 appointments.")).to_be_visible()
    desk_shots.take(page, "booked-series")
    page.goto(f"{base}/day/2027-04-05")
    expect(page.locator(".appt", has_text="Mara Linden")).to_contain_text("10:00\u201310:50")
    desk_shots.take(page, "day-after-the-clock-change")

    # A time the clocks skip is refused in plain words.
    page.goto(f"{base}/bookings/new")
    _fill_booking(page, "Linden", "Dr Hana Vell", "2027-03-28", "02:30")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#error-summary")).to_contain_text("02:30 does not exist")
    desk_shots.take(page, "time-that-does-not-exist")
    # A time that happens twice (Sun 31 Oct 2027) asks which; the second one is booked.
    page.get_by_label("Date", exact=True).fill("2027-10-31")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#error-summary")).to_contain_text("02:30 happens twice")
    desk_shots.take(page, "time-that-happens-twice")
    page.get_by_label(re.compile("the second 02:30")).check()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("Booked: 1 appointment.")).to_be_visible()
    expect(page.get_by_text(re.compile("Sunday 31 October 2027, 02:30"))).to_be_visible()

    # Jon with Dr Vell, who is not in his care, at the series' time: asked, then a conflict.
    page.goto(f"{base}/bookings/new")
    _fill_booking(page, "Ashgrove", "Dr Hana Vell", "2027-03-15", "10:00")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#err-add_to_care")).to_contain_text(
        "Dr Hana Vell is not in Jon Ashgrove's care yet."
    )
    desk_shots.take(page, "not-in-care")
    page.get_by_label(re.compile("Add Dr Hana Vell to Jon Ashgrove's care team")).check()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_text("The time is taken.")).to_be_visible()
    expect(page.locator("#error-summary")).to_contain_text("Mara Linden with Dr Hana Vell")
    desk_shots.take(page, "conflict-with-offers")
    page.get_by_role("button", name="Book Tue 16 Mar 2027, 10:00").click()
    expect(page.get_by_text("Booked: 1 appointment.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Jon Ashgrove"))).to_be_visible()

    # Move the third occurrence on its own, then change the whole series around it.
    _open(page, base, "2027-03-29", "10:00\u201310:50")
    page.get_by_label("Time", exact=True).fill("15:00")
    _change_form(page).get_by_role("radio", name=re.compile("Only this one")).check()
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text("Changed: 1 appointment.")).to_be_visible()
    expect(page.get_by_text("changed on its own")).to_be_visible()
    _open(page, base, "2027-03-15", "10:00\u201310:50")
    expect(page.get_by_text("The whole series: 3 appointments")).to_be_visible()
    expect(
        page.get_by_text(re.compile("Left alone, because.*Mon 29 Mar 2027, 15:00")).last
    ).to_be_visible()
    desk_shots.take(page, "series-member")
    page.get_by_label("Time", exact=True).fill("11:00")
    _change_form(page).get_by_role("radio", name=re.compile("The whole series")).check()
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text("Changed: 3 appointments.")).to_be_visible()
    page.goto(f"{base}/day/2027-03-29")
    expect(page.locator(".appt", has_text="Mara Linden")).to_contain_text("15:00\u201315:50")
    page.goto(f"{base}/day/2027-04-05")
    expect(page.locator(".appt", has_text="Mara Linden")).to_contain_text("11:00\u201311:50")

    # Cancel Jon's appointment with who and why, then undo it while the slot is free.
    _open(page, base, "2027-03-16", "10:00\u201310:50")
    page.get_by_label("Outcome").select_option(label="Cancelled")
    page.get_by_label("Cancelled by (for a cancellation)").select_option(label="the client")
    page.get_by_label("Why (category)").select_option(label="illness")
    page.get_by_label("Reason in words (optional)").fill("Feeling unwell.")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("a reason was written; it is sealed")).to_be_visible()
    desk_shots.take(page, "cancelled")
    page.get_by_role("button", name="Undo the cancellation").click()
    expect(page.get_by_text("The cancellation is undone")).to_be_visible()
    desk_shots.take(page, "undone")

    page.goto(f"{base}/day/2027-03-16")
    desk_shots.take(page, "day-with-free-hours")
    # On a tablet at the desk (768 px): the day, the booking form and, from a client's
    # name on the day, the client's page.
    page.set_viewport_size({"width": 768, "height": 1024})
    desk_shots.take(page, "day-tablet")
    page.get_by_role("link", name=re.compile("^Jon Ashgrove")).first.click()
    expect(page.get_by_role("heading", name=re.compile("Jon Ashgrove"))).to_be_visible()
    assert "/desk/clients/" in page.url
    desk_shots.take(page, "client-from-the-day-tablet")
    page.goto(f"{base}/bookings/new")
    desk_shots.take(page, "booking-form-tablet")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{base}/day/2027-03-16")
    page.get_by_role("link", name="By room").click()
    expect(page.get_by_role("heading", name=re.compile("Rooms"))).to_be_visible()
    desk_shots.take(page, "rooms")
    page.goto(f"{base}/day/2027-03-16")
    page.get_by_role("link", name=re.compile("Dr Hana Vell")).first.click()
    expect(page.get_by_role("heading", name=re.compile("Dr Hana Vell"))).to_be_visible()
    desk_shots.take(page, "clinician-week")
    page.goto(f"{base}/bookings/00000000-0000-0000-0000-000000000000")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    desk_shots.take(page, "not-found")
    context.close()
