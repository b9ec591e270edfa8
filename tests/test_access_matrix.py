"""SECURITY.md item 8: every route and every persona → the expected status.

`EXPECTED` in tests/access_matrix.py is the machine-readable matrix. The first test walks
`app.url_map` and fails on any route (and method) missing from it, so a new endpoint
cannot ship without its access decisions written down. Run this file with
`PRACTICE_PRINT_MATRIX=1` to print what the code does today, for review.
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import timedelta

import pytest

from practice import login
from practice.auth import sessions
from practice.auth.models import UserSession
from practice.database import utcnow
from practice.extensions import db
from tests.access_matrix import EXPECTED
from tests.access_world import PERSONAS, build_world
from tests.factories import PASSWORD

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods & set(METHODS):
            found.add((method, rule.rule))
    return found


def test_every_route_is_in_the_matrix(app):
    missing = sorted(routes(app) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - routes(app))
    assert missing == [], f"routes without access decisions: {missing}"
    assert stale == [], f"matrix rows for routes that no longer exist: {stale}"


def test_every_row_names_every_persona():
    for key, row in EXPECTED.items():
        assert set(row) == set(PERSONAS), key


def request_for(method: str, rule: str, world) -> tuple[str, dict]:
    """The URL and a valid request for `rule`, so the answer reflects access, not input."""
    ids = world.ids
    author = world.users["author"]
    supervisor = world.users["supervisor"]
    params = {
        "client_id": ids["client"],
        "figure_id": ids["figure"],
        "script_id": ids["script"],
        "note_id": ids["signed_note"] if rule.endswith("/addenda") else ids["draft_note"],
        "progress_note_id": (
            ids["signed_progress_note"] if rule.endswith("/addenda") else ids["draft_progress_note"]
        ),
        "treatment_plan_id": ids["draft_plan"],
        "measure_id": ids["measure"],
        "appointment_id": ids["appointment"],
        "room_id": ids["room"],
        "user_id": supervisor.id if "supervisees" in rule else author.id,
        "clinician_id": author.id,
        "token_id": ids["author_token"],
        # Accept and decline: the supervisor's pending request to the other clinician;
        # ending: the author's link in effect.
        "link_id": ids["pending_link"] if rule.endswith(("/accept", "/decline")) else ids["link"],
        "filename": "docs.js",
        "start": "2026-12-07",
        "day": "2026-12-07",
    }
    url = rule
    for name, value in params.items():
        for converter in ("uuid:", "path:", ""):
            url = url.replace(f"<{converter}{name}>", str(value))
    if rule == "/static/<path:filename>":
        url = "/static/app.css"  # the web app's files (the docs' have their own rule)
    start = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    bodies = {
        ("POST", "/api/v1/auth/login"): {"email": "nobody@matrix.test", "password": "x" * 12},
        ("POST", "/api/v1/auth/password"): {
            "current_password": PASSWORD,
            "new_password": "a completely new passphrase 42",
        },
        ("POST", "/api/v1/auth/totp/setup"): {},
        ("POST", "/api/v1/auth/totp/enable"): {"password": PASSWORD, "code": "000000"},
        ("POST", "/api/v1/auth/totp/disable"): {"password": PASSWORD, "code": "000000"},
        ("POST", "/api/v1/auth/totp/recovery-codes"): {"password": PASSWORD, "code": "000000"},
        ("POST", "/api/v1/auth/tokens"): {"name": "matrix", "password": PASSWORD},
        ("DELETE", "/api/v1/users/<uuid:user_id>/totp"): {"password": PASSWORD},
        ("POST", "/api/v1/auth/email"): {
            "password": PASSWORD,
            "email": f"changed.{uuid.uuid4().hex[:8]}@matrix.practice.test",
        },
        ("PATCH", "/api/v1/practice"): {"require_totp": False},
        ("POST", "/api/v1/users"): {
            "email": f"new.person.{uuid.uuid4().hex[:8]}@matrix.practice.test",
            "name": "New Person",
            "roles": ["clinician"],
            "password": "another quite long passphrase",
        },
        ("PATCH", "/api/v1/users/<uuid:user_id>"): {"name": "Renamed Person"},
        ("POST", "/api/v1/clients"): {
            "first_name": "Ivo",
            "last_name": "Newclient",
            "primary_clinician_id": str(author.id),
        },
        ("PATCH", "/api/v1/clients/<uuid:client_id>"): {"preferred_name": "Wee"},
        ("POST", "/api/v1/appointments"): {
            "client_id": str(ids["client"]),
            "clinician_id": str(author.id),
            "starts_at": start.isoformat(),
            "duration_minutes": 50,
            "kind": "individual",
            "modality": "video",
        },
        ("PATCH", "/api/v1/appointments/<uuid:appointment_id>"): {"modality": "phone"},
        ("POST", "/api/v1/rooms"): {"name": "Matrix Room"},
        ("PATCH", "/api/v1/rooms/<uuid:room_id>"): {"name": "Renamed Room"},
        ("POST", "/api/v1/clients/<uuid:client_id>/figures"): {
            "label": "Boss",
            "role": "authority",
            "period": "current",
        },
        ("PATCH", "/api/v1/clients/<uuid:client_id>/figures/<uuid:figure_id>"): {"label": "Sam B"},
        ("POST", "/api/v1/clients/<uuid:client_id>/scripts"): {"name": "Pleases to be kept"},
        ("PATCH", "/api/v1/clients/<uuid:client_id>/scripts/<uuid:script_id>"): {"name": "Renamed"},
        ("POST", "/api/v1/clients/<uuid:client_id>/scripts/<uuid:script_id>/merge"): {
            "into_script_id": str(ids["second_script"])
        },
        ("POST", "/api/v1/clients/<uuid:client_id>/notes"): {
            "session_date": "2026-10-01",
            "content": {},
        },
        ("PUT", "/api/v1/notes/<uuid:note_id>"): {"content": {}},
        ("POST", "/api/v1/clients/<uuid:client_id>/measures"): {
            "instrument": "phq9",
            "appointment_id": str(ids["appointment"]),
            "responses": {str(item): 0 for item in range(1, 10)},
        },
        ("POST", "/api/v1/clients/<uuid:client_id>/measures/<uuid:measure_id>/void"): {
            "reason": "wrong_session"
        },
        ("POST", "/api/v1/notes/<uuid:note_id>/addenda"): {"text": "A later correction."},
        ("POST", "/api/v1/clients/<uuid:client_id>/progress-notes"): {
            "appointment_id": str(ids["appointment"])
        },
        ("PUT", "/api/v1/progress-notes/<uuid:progress_note_id>"): {
            "content": {"service_code": "90837"}
        },
        ("POST", "/api/v1/progress-notes/<uuid:progress_note_id>/addenda"): {"text": "Later."},
        ("POST", "/api/v1/clients/<uuid:client_id>/treatment-plans"): {},
        ("PUT", "/api/v1/treatment-plans/<uuid:treatment_plan_id>"): {
            "content": {"goals": [{"text": "Tolerate a break"}]},
            "review_date": "2027-09-01",
        },
        ("PUT", "/api/v1/record-codes"): {
            "service_codes": ["90834", "90837"],
            "diagnosis_codes": ["F41.1"],
        },
    }
    kwargs: dict = {}
    if (method, rule) in bodies:
        kwargs["json"] = bodies[(method, rule)]
    if (method, rule) in PAGE_FORMS:
        kwargs["data"] = PAGE_FORMS[(method, rule)]
    if (method, rule) == ("POST", "/clients/<uuid:client_id>/scripts/<uuid:script_id>/merge"):
        kwargs["data"] = {"version": "1", "into": str(ids["second_script"])}
    if rule == "/api/v1/appointments/free-slots":
        url += (
            f"?client_id={ids['client']}&clinician_id={author.id}&duration_minutes=50"
            f"&starts_at={start.isoformat().replace('+', '%2B')}"
        )
    if (method, rule) == ("POST", "/bookings/new"):
        kwargs["data"] = {
            "client_id": str(ids["client"]),
            "clinician_id": str(author.id),
            "kind": "individual",
            "modality": "video",
            "date": start.date().isoformat(),
            "time": "10:00",
            "duration_minutes": "50",
        }
    if (method, rule) in ID_PAGE_FORMS:  # the owner's and front desk's forms name people
        kwargs["data"] = ID_PAGE_FORMS[(method, rule)](world)
    versioned_write = method in ("PUT", "PATCH") or rule.endswith(("/sign", "/merge", "/discard"))
    versioned = ("/scripts/", "/notes/", "/progress-notes/", "/treatment-plans/")
    if versioned_write and any(part in rule for part in versioned):
        kwargs["headers"] = {"If-Match": '"1"'}
    if rule.endswith("calendar.ics"):
        url += "?token=not-the-token"
    return url, kwargs


# Valid forms for the web app's pages (the session's CSRF token is added to each).
PAGE_FORMS = {
    ("POST", "/account/password"): {
        "current_password": PASSWORD,
        "new_password": "a completely new passphrase 42",
    },
    ("POST", "/account/two-factor/enable"): {"password": PASSWORD, "code": "000000"},
    ("POST", "/appointments/<uuid:appointment_id>/status"): {"status": "attended"},
    ("POST", "/bookings/<uuid:appointment_id>/change"): {"modality": "phone"},
    ("POST", "/bookings/<uuid:appointment_id>/status"): {
        "status": "cancelled",
        "cancelled_by": "client",
    },
    ("POST", "/clients/<uuid:client_id>/notes"): {"session_date": "2026-10-01"},
    ("POST", "/notes/<uuid:note_id>/edit"): {"version": "1", "narrative.summary": "More."},
    ("POST", "/notes/<uuid:note_id>/autosave"): {"version": "1", "narrative.summary": "More."},
    ("POST", "/notes/<uuid:note_id>/sign"): {"version": "1"},
    ("POST", "/notes/<uuid:note_id>/addenda"): {"text": "A later correction."},
    ("POST", "/clients/<uuid:client_id>/scripts/new"): {"name": "Pleases", "status": "working"},
    ("POST", "/clients/<uuid:client_id>/scripts/<uuid:script_id>/edit"): {
        "version": "1",
        "name": "Renamed",
        "status": "focal",
    },
    ("POST", "/clients/<uuid:client_id>/figures/new"): {"label": "Boss", "role": "authority"},
    ("POST", "/clients/<uuid:client_id>/figures/<uuid:figure_id>/edit"): {"label": "Sam B"},
    ("POST", "/progress-notes/<uuid:progress_note_id>/edit"): {"version": "1", "plan": "More."},
    ("POST", "/progress-notes/<uuid:progress_note_id>/sign"): {"version": "1"},
    ("POST", "/progress-notes/<uuid:progress_note_id>/addenda"): {"text": "Later."},
    ("POST", "/treatment-plans/<uuid:treatment_plan_id>/edit"): {
        "version": "1",
        "goal.0.text": "Tolerate a break",
        "review_date": "2027-09-01",
    },
    ("POST", "/treatment-plans/<uuid:treatment_plan_id>/sign"): {"version": "1"},
    ("POST", "/treatment-plans/<uuid:treatment_plan_id>/discard"): {"version": "1"},
    ("POST", "/admin/users/<uuid:user_id>/two-factor-reset"): {"password": PASSWORD},
}

# Forms of the owner's and front desk's pages that name users of the world's practice.
ID_PAGE_FORMS = {
    ("POST", "/clients/<uuid:client_id>/progress-notes"): lambda world: {
        "appointment_id": str(world.ids["appointment"])
    },
    ("POST", "/desk/clients/new"): lambda world: {
        "first_name": "Ivo",
        "last_name": "Newclient",
        "status": "active",
        "primary_clinician_id": str(world.users["author"].id),
    },
    ("POST", "/desk/clients/<uuid:client_id>"): lambda world: {
        "first_name": "Ivo",
        "last_name": "Renamed",
        "status": "active",
        "primary_clinician_id": str(world.users["author"].id),
    },
    ("POST", "/admin/users/new"): lambda world: {
        "name": "New Person",
        "email": f"new.person.{uuid.uuid4().hex[:8]}@matrix.practice.test",
        "roles": "clinician",
    },
    ("POST", "/admin/users/<uuid:user_id>"): lambda world: {
        "name": "Renamed Person",
        "roles": "clinician",
    },
    ("POST", "/admin/users/<uuid:user_id>/active"): lambda world: {"active": "no"},
    ("POST", "/admin/supervision"): lambda world: {
        "supervisor_id": str(world.users["supervisor"].id),
        "clinician_id": str(world.users["other_clinician"].id),
    },
    ("POST", "/admin/rooms"): lambda world: {"name": f"Room {uuid.uuid4().hex[:6]}"},
    ("POST", "/admin/rooms/<uuid:room_id>"): lambda world: {"name": "Renamed Room"},
    ("POST", "/admin/practice"): lambda world: {
        "name": "Renamed Practice",
        "timezone": "Europe/Berlin",
    },
    ("POST", "/account/tokens"): lambda world: {"name": "matrix", "password": PASSWORD},
    ("POST", "/clients/<uuid:client_id>/measures/<uuid:measure_id>/void"): lambda world: {
        "reason": "duplicate"
    },
    ("POST", "/clients/<uuid:client_id>/measures/new"): lambda world: {
        "instrument": "phq9",
        "appointment_id": str(world.ids["appointment"]),
        **{f"item-{item}": "0" for item in range(1, 10)},
    },
}


def page_session(client, world, persona: str) -> str | None:
    """Pages take the session cookie only (a bearer token never opens one): a live
    session for the persona in the test client's cookie; its CSRF token."""
    with client.session_transaction() as cookie:
        cookie.clear()
        if persona == "anonymous":
            return None
        secret = secrets.token_urlsafe(32)
        record = UserSession(
            user_id=world.users[persona].id,
            secret_hash=sessions.digest(secret),
            csrf_token=secrets.token_urlsafe(32),
        )
        db.session.add(record)
        db.session.commit()  # a refused request's rollback must not undo it
        cookie[login.SESSION_KEY] = secret
    return record.csrf_token


def call(client, method, url, persona_headers, kwargs, csrf: str | None = None):
    headers = dict(persona_headers)
    headers.update(kwargs.get("headers", {}))
    data = kwargs.get("data")
    if csrf is not None and method != "GET":
        data = {**(data or {}), "csrf_token": csrf}
    response = client.open(url, method=method, headers=headers, json=kwargs.get("json"), data=data)
    response.close()
    return response.status_code


def _cases():
    return sorted(EXPECTED)


@pytest.mark.parametrize(("method", "rule"), _cases(), ids=lambda v: str(v))
def test_route_access(client, method, rule):
    expected = EXPECTED[(method, rule)]
    seen = {}
    for persona in PERSONAS:
        # A fresh world (new practices, users and objects) per persona, so one persona's
        # write cannot change what the next one sees; the test's rollback removes them all.
        world = build_world(client)
        url, kwargs = request_for(method, rule, world)
        if rule.startswith("/api/"):
            page_session(client, world, "anonymous")  # no cookie: the API's callers use tokens
            seen[persona] = call(client, method, url, world.headers[persona], kwargs)
        else:
            csrf = page_session(client, world, persona)
            seen[persona] = call(client, method, url, {}, kwargs, csrf)
    if os.environ.get("PRACTICE_PRINT_MATRIX"):
        print(f"MATRIX {method} {rule} {seen}")
        return
    assert seen == expected
