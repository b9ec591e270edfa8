"""Helpers for the page tests: HTML assertions, the forms' hidden tokens, signing in."""

from __future__ import annotations

import re

from tests.factories import PASSWORD

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def assert_page(response, code: int = 200) -> str:
    """An HTML page in the layout with `code`, the page headers, no traceback; its text."""
    text = response.get_data(as_text=True)
    assert response.status_code == code, (response.status_code, text[-2000:])
    assert response.mimetype == "text/html", response.mimetype
    assert text.startswith("<!doctype html>")
    assert "Traceback" not in text
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in text and "style=" not in text and "<style" not in text
    return text


def hidden(text: str, name: str) -> str:
    """The value of the first hidden field called `name`."""
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', text)
    assert found, f"no field {name}"
    return found.group(1)


def title(text: str) -> str:
    return re.search(r"<title>(.*?)</title>", text, re.S).group(1)


def sign_in(client, user, code: str | None = None, **extra):
    """Sign in through the sign-in page, and the code page when `code` is given; returns
    the last response."""
    page = client.get("/sign-in")
    data = {
        "login_token": hidden(page.get_data(as_text=True), "login_token"),
        "email": user.email,
        "password": PASSWORD,
        **extra,
    }
    answer = client.post("/sign-in", data=data)
    if code is None:
        return answer
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'action="/sign-in/code"' in text, answer.status_code
    return client.post("/sign-in/code", data={**code_form(text), "totp": code})


def code_form(text: str) -> dict:
    """The hidden fields of the code page (its login token and what it carries)."""
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', text))


def csrf_of(client, path: str = "/account") -> str:
    """The session's CSRF token, as every page's forms carry it."""
    return hidden(client.get(path).get_data(as_text=True), "csrf_token")


def start_note(client, team, day: str = "2026-11-02") -> str:
    """Start a draft for the team's client through its page; the editor's path."""
    created = client.post(
        f"/clients/{team.client.id}/notes",
        data={"csrf_token": csrf_of(client), "session_date": day},
    )
    assert created.status_code == 302, created.get_data(as_text=True)[-1500:]
    return created.headers["Location"]
