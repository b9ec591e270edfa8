"""The OpenAPI document tells the truth (practice.api.openapi): security per operation,
If-Match and ETag, the error statuses with the error envelope, media types, real schemas
for the note template's sections and the "one of" rules."""

from __future__ import annotations

import uuid

import jsonschema_rs  # schemathesis' validator
import pytest

from practice.api.openapi import CLINICAL_TAGS
from tests.helpers import assert_error

PUBLIC = {
    ("get", "/api/v1/health"),
    ("post", "/api/v1/auth/login"),
    ("get", "/api/v1/clinicians/{clinician_id}/calendar.ics"),
}
IF_MATCH = {
    ("put", "/api/v1/notes/{note_id}"),
    ("post", "/api/v1/notes/{note_id}/sign"),
    ("patch", "/api/v1/clients/{client_id}/scripts/{script_id}"),
    ("post", "/api/v1/clients/{client_id}/scripts/{script_id}/merge"),
    ("put", "/api/v1/progress-notes/{progress_note_id}"),
    ("post", "/api/v1/progress-notes/{progress_note_id}/sign"),
    ("put", "/api/v1/treatment-plans/{treatment_plan_id}"),
    ("post", "/api/v1/treatment-plans/{treatment_plan_id}/sign"),
    ("post", "/api/v1/treatment-plans/{treatment_plan_id}/discard"),
}
FILES = {
    "/api/v1/clients/{client_id}/themes.csv": "text/csv",
    "/api/v1/clients/{client_id}/themes.svg": "image/svg+xml",
    "/api/v1/clinicians/{clinician_id}/calendar.ics": "text/calendar",
}


@pytest.fixture(scope="module")
def document(app) -> dict:
    return app.test_client().get("/api/openapi.json").get_json()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path, operation


def test_security_schemes_session_with_csrf_bearer_and_the_feed_token(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["session"] == {
        **schemes["session"],
        "type": "apiKey",
        "in": "cookie",
        "name": "practice_session",
    }
    assert schemes["csrf"]["in"] == "header" and schemes["csrf"]["name"] == "X-CSRF-Token"
    assert schemes["bearer"]["type"] == "http" and schemes["bearer"]["scheme"] == "bearer"
    assert schemes["calendarFeedToken"]["in"] == "query"


def test_every_operation_names_its_security(document):
    for method, path, operation in operations(document):
        security = operation["security"]
        if (method, path) in PUBLIC:
            assert security in ([], [{"calendarFeedToken": []}]), path
            assert "401" not in operation["responses"] or path.endswith("/login")
        elif method == "get":
            assert security == [{"session": []}, {"bearer": []}], path
        else:
            assert security == [{"session": [], "csrf": []}, {"bearer": []}], path


def test_only_the_public_operations_answer_a_stranger(client, document):
    """The document's public marks match the server: everything else is 401 without
    credentials (so a route added without login would show up here)."""
    for method, path, _operation in operations(document):
        url = path.replace("{", "").replace("}", "")
        for name in ("progress_note_id", "treatment_plan_id"):  # before note_id, inside them
            url = url.replace(name, str(uuid.uuid4()))
        for name in ("client_id", "note_id", "script_id", "figure_id", "appointment_id"):
            url = url.replace(name, str(uuid.uuid4()))
        for name in ("room_id", "user_id", "clinician_id", "token_id", "link_id", "measure_id"):
            url = url.replace(name, str(uuid.uuid4()))
        response = client.open(url, method=method.upper())
        if (method, path) in PUBLIC:
            assert response.status_code != 401, path
        else:
            assert_error(response, 401)


def test_every_error_status_carries_the_error_envelope(document):
    responses = document["components"]["responses"]
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if "$ref" in response:
                response = responses[response["$ref"].rsplit("/", 1)[-1]]
            if status == "default" or int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_errors_by_trait(document):
    for method, path, operation in operations(document):
        statuses = set(operation["responses"])
        assert {"400", "422", "503", "default"} <= statuses, path
        if (method, path) not in PUBLIC:
            assert {"401", "403"} <= statuses, path
        if "{" in path:
            assert "404" in statuses, path
        if method in ("post", "put", "patch", "delete"):
            assert "415" in statuses, path
        if CLINICAL_TAGS & set(operation["tags"]):
            assert "410" in statuses, path


def test_conflicts_are_documented_where_they_happen(document):
    paths = document["paths"]
    for method, path in [
        ("post", "/api/v1/appointments"),
        ("patch", "/api/v1/appointments/{appointment_id}"),
        ("post", "/api/v1/clients/{client_id}/notes"),
        ("put", "/api/v1/notes/{note_id}"),
        ("post", "/api/v1/notes/{note_id}/sign"),
        ("post", "/api/v1/notes/{note_id}/addenda"),
        ("patch", "/api/v1/clients/{client_id}/scripts/{script_id}"),
        ("post", "/api/v1/rooms"),
    ]:
        assert "409" in paths[path][method]["responses"], path
    conflict = document["components"]["schemas"]["Error"]["properties"]["conflicts"]
    assert conflict["items"] == {"$ref": "#/components/schemas/Conflict"}


def test_if_match_where_a_write_needs_the_version_read(document):
    for method, path, operation in operations(document):
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if (method, path) in IF_MATCH:
            assert headers["If-Match"]["required"] is True, path
            assert {"412", "428"} <= set(operation["responses"]), path
        else:
            assert "If-Match" not in headers, path
            assert "428" not in operation["responses"], path


def test_etag_on_every_answer_with_a_versioned_object(document):
    with_etag = {
        (method, path)
        for method, path, operation in operations(document)
        for status, response in operation["responses"].items()
        if status.startswith("2") and "ETag" in response.get("headers", {})
    }
    # A discarded draft plan is gone: its 204 has no version left to name.
    gone = {("post", "/api/v1/treatment-plans/{treatment_plan_id}/discard")}
    assert with_etag >= IF_MATCH - gone
    assert {
        ("get", "/api/v1/notes/{note_id}"),
        ("post", "/api/v1/clients/{client_id}/notes"),
        ("post", "/api/v1/notes/{note_id}/addenda"),
        ("get", "/api/v1/clients/{client_id}/scripts/{script_id}"),
        ("post", "/api/v1/clients/{client_id}/scripts"),
        ("get", "/api/v1/clinicians/{clinician_id}/calendar.ics"),
    } <= with_etag
    assert ("get", "/api/v1/vocabularies") not in with_etag  # its `version` is no ETag


def test_file_answers_name_their_media_type(document):
    for path, media_type in FILES.items():
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert content == {media_type: {"schema": {"type": "string"}}}, path
    feed = document["paths"]["/api/v1/clinicians/{clinician_id}/calendar.ics"]["get"]
    assert "304" in feed["responses"]


def test_no_schema_lets_any_object_through(document):
    """apispec writes a nullable nested schema as `anyOf [object, $ref]`; ours are the
    section's schema or null."""
    text = str(document)
    assert "{'nullable': True, 'type': 'object'}" not in text
    sections = document["components"]["schemas"]["NoteContent"]["properties"]
    for name in ("transference", "countertransference", "defenses", "narrative"):
        assert sections[name] == {
            "allOf": [{"$ref": f"#/components/schemas/{name.capitalize()}"}],
            "nullable": True,
        }


def validator(document: dict, name: str):
    return jsonschema_rs.Draft4Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )


def test_appointment_ends_at_or_duration_as_one_of(document):
    booking = {
        "client_id": str(uuid.uuid4()),
        "clinician_id": str(uuid.uuid4()),
        "starts_at": "2026-12-07T09:00:00+00:00",
        "kind": "individual",
        "modality": "in_person",
    }
    create = validator(document, "AppointmentCreate")
    assert create.is_valid({**booking, "duration_minutes": 50})
    assert create.is_valid({**booking, "ends_at": "2026-12-07T09:50:00+00:00"})
    assert not create.is_valid(booking)
    assert not create.is_valid(
        {**booking, "duration_minutes": 50, "ends_at": "2026-12-07T09:50:00+00:00"}
    )
    update = validator(document, "AppointmentUpdate")
    assert update.is_valid({}) and update.is_valid({"duration_minutes": 30})
    assert not update.is_valid({"duration_minutes": 30, "ends_at": "2026-12-07T09:50:00+00:00"})
    recurrence = validator(document, "Recurrence")
    assert recurrence.is_valid({"every_weeks": 1, "count": 3})
    assert not recurrence.is_valid({"every_weeks": 1})
    assert not recurrence.is_valid({"every_weeks": 1, "count": 3, "until": "2027-01-01"})


def test_the_docs_page_runs_without_inline_script_or_style(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "<style" not in html and "style=" not in html
    for asset in ("swagger-ui-5.35.0/swagger-ui-bundle.js", "docs.js", "swagger-ui-5.35.0/LICENSE"):
        with client.get(f"/api/docs/static/{asset}") as response:
            assert response.status_code == 200, asset
    assert client.get("/api/docs/static/../../http.py").status_code == 404
