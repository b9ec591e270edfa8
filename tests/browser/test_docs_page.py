"""The API docs page in a real browser: Swagger UI starts under its CSP without a single
violation (no 'unsafe-inline' anywhere), the Authorize button takes a bearer token, and a
write made from the page succeeds."""

from __future__ import annotations

import pytest

from practice.auth import service as auth_service
from practice.extensions import db
from tests.factories import make_practice, make_user

BEARER = "bearer (http, Bearer)"


@pytest.mark.live
def test_docs_page_authorises_with_a_token_and_writes(live_server, browser):
    with live_server.app.app_context():
        owner = make_user(make_practice(), ["owner"])
        _token, secret = auth_service.issue_api_token(owner, "docs page")
        db.session.commit()
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 40

    page.click("button.authorize")
    scheme = page.locator(".auth-container").filter(has_text=BEARER)
    scheme.locator("input").fill(secret)
    scheme.locator("button.authorize").click()
    page.click("button.close-modal")

    rooms = page.locator("#operations-rooms-post_api_v1_rooms")
    rooms.locator(".opblock-summary").click()
    rooms.locator("button.try-out__btn").click()
    rooms.locator("textarea.body-param__text").fill('{"name": "Room written from the docs"}')
    rooms.locator("button.execute").click()
    status = rooms.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=15_000)
    assert status.inner_text().strip() == "201"
    assert problems == []  # a CSP violation is reported as a console error
    page.close()
