"""The one helper module of the HTTP tests (API and pages): the API.md error shape,
settling setup, bearer headers and logging in, the pages' HTML checks and forms, audit
rows and row counts, plain calls to a live server. Building data is tests/factories.py's
(and tests/themes/factories.py, tests/scheduling/helpers.py for their domains)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import sqlalchemy as sa

from practice.audit.models import AuditEntry
from practice.clients.models import CareTeamMember, Client
from practice.extensions import db
from tests.factories import PASSWORD, bearer

CANARY = "Quokka-canary-7731: the grandmother's red ledger"
# A second piece of clinical text (another note, an addendum), told apart from CANARY.
SECOND_CANARY = "Wombat-canary-4410: the uncle's blue rowing boat"
LOGIN = "/api/v1/auth/login"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# --- Any request ----------------------------------------------------------------------


def assert_error(response, code: int) -> dict:
    """The API.md error shape with `code` (JSON, no stack trace); returns the parsed body."""
    text = response.get_data(as_text=True)
    assert response.status_code == code, text
    assert response.mimetype == "application/json", (response.mimetype, text)
    body = response.get_json()
    assert body["code"] == code, body
    assert isinstance(body["status"], str) and body["status"], body
    assert isinstance(body["message"], str) and body["message"], body
    assert "Traceback" not in text
    return body


def settle() -> None:
    """Commit what the test set up, so a refused request's rollback cannot undo it (the
    test's outer transaction still rolls everything back afterwards)."""
    db.session.commit()


def call(url: str, method: str = "GET", headers=None, body=None) -> tuple[int, dict, dict]:
    """One request to a live server (`body` sent as JSON): (status, JSON body, headers)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 (our own http:// server)
        url, data=data, method=method, headers=headers or {}
    )
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


# --- The API: who calls -----------------------------------------------------------------

_tokens: dict = {}


def auth(user) -> dict[str, str]:
    """Bearer header for `user` (one token per user per test run)."""
    if user.id not in _tokens:
        _tokens[user.id] = bearer(user)
        settle()
    return _tokens[user.id]


def login(client, user, password=PASSWORD, totp=None, **kwargs):
    """POST /auth/login for `user`; returns the response."""
    body = {"email": user.email, "password": password}
    if totp is not None:
        body["totp"] = totp
    return client.post(LOGIN, json=body, **kwargs)


def login_csrf(client, user, password=PASSWORD, totp=None) -> dict[str, str]:
    """Log in and return the X-CSRF-Token header for cookie-authenticated writes."""
    response = login(client, user, password, totp)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"X-CSRF-Token": response.get_json()["csrf_token"]}


class Clock:
    """A settable time.time() for TOTP tests (monkeypatched into practice.auth.totp)."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


# --- Process notes over the API -------------------------------------------------------


def new_note(client, team, content=None, *, about=None, **extra) -> dict:
    """A draft by the team's author about `about` (default: the team's client)."""
    body = {"session_date": "2026-03-02", "content": content or {}, **extra}
    about = about or team.client
    response = client.post(
        f"/api/v1/clients/{about.id}/notes", json=body, headers=auth(team.author)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def signed_note(client, team) -> dict:
    note = new_note(client, team, {"narrative": {"summary": "signed one"}})
    headers = {**auth(team.author), "If-Match": '"1"'}
    response = client.post(f"/api/v1/notes/{note['id']}/sign", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def put(client, note_id, user, content, if_match=None):
    headers = dict(auth(user))
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.put(f"/api/v1/notes/{note_id}", json={"content": content}, headers=headers)


# --- The pages --------------------------------------------------------------------------


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


# --- What a request left behind -----------------------------------------------------------


def audit_rows(action: str | None = None, **filters) -> list[AuditEntry]:
    """Audit entries with `action` and the other column values in `filters`, oldest first."""
    if action is not None:
        filters["action"] = action
    query = sa.select(AuditEntry).order_by(AuditEntry.occurred_at, AuditEntry.seq)
    for key, value in filters.items():
        value = str(value) if key == "object_id" else value
        query = query.where(getattr(AuditEntry, key) == value)
    return list(db.session.scalars(query))


def audit_actions(**where) -> list[tuple[str, str]]:
    """(action, outcome) of audit entries matching `where`, oldest first."""
    db.session.expire_all()
    query = sa.select(AuditEntry).order_by(AuditEntry.occurred_at, AuditEntry.seq)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return [(e.action, e.outcome) for e in db.session.scalars(query)]


def audit_text() -> str:
    """Everything the audit rows hold but their ids and times, as one string."""
    rows = db.session.scalars(sa.select(AuditEntry)).all()
    return " ".join(
        str(value)
        for row in rows
        for value in (row.action, row.object_type, row.object_id, row.address, row.outcome)
    )


def count(model) -> int:
    """Rows of `model` in the test's session (a COUNT always asks the database)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def counts() -> tuple[int, int]:
    """Clients and care-team rows."""
    return count(Client), count(CareTeamMember)
