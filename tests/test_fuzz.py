"""SECURITY.md item 26: schemathesis against the generated OpenAPI document, authenticated,
every operation: no 5xx, and responses match the documented schema and status codes.

Both valid (positive) and invalid (negative) inputs are generated. Path parameters point
at real objects (a client, a note, a script …) so bodies reach the services instead of
stopping at a 404. PRACTICE_FUZZ_EXAMPLES raises the examples per operation and mode
(the default keeps `make test` fast). Schemathesis' pytest plugin is not used (it does not
support pytest 9 yet); each operation's Hypothesis strategy is driven directly instead.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from practice.api import health
from tests.access_world import build_world

EXAMPLES = int(os.environ.get("PRACTICE_FUZZ_EXAMPLES", "6"))
# Operations that end the fuzzing user's own session or credentials.
SKIPPED_PATHS = (
    "/api/v1/auth/logout",
    "/api/v1/auth/password",
    "/api/v1/auth/email",
    "/api/v1/auth/totp/",
)
# Every answer, to valid and invalid input alike, must be one the document lists, in its
# media type, with its body schema and required headers (ETag on versioned objects).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def real_path_parameters(world) -> dict[str, str]:
    ids = world.ids
    author = world.users["author"]
    return {
        name: str(value)
        for name, value in {
            "client_id": ids["client"],
            "figure_id": ids["figure"],
            "script_id": ids["script"],
            "note_id": ids["draft_note"],
            "progress_note_id": ids["draft_progress_note"],
            "treatment_plan_id": ids["draft_plan"],
            "appointment_id": ids["appointment"],
            "room_id": ids["room"],
            "user_id": author.id,
            "clinician_id": author.id,
            "token_id": ids["author_token"],
            "measure_id": ids["measure"],
        }.items()
    }


def fuzz_operation(operation, mode, world) -> list[str]:
    """Run one operation's generated cases; return failure descriptions (empty when clean)."""
    failures: list[str] = []
    wanted = {p.name for p in operation.iter_parameters() if p.location == "path"}
    path_parameters = {k: v for k, v in real_path_parameters(world).items() if k in wanted}
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        try:
            case.call_and_validate(headers=dict(world.headers["author"]), checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group
            failures.append(f"{operation.label} [{mode.value}]: {type(exc).__name__}: {exc}")

    try:
        run()
    except Unsatisfiable:
        # No input of this operation can be made invalid (e.g. GET without parameters).
        if mode is GenerationMode.POSITIVE:
            raise
    return failures


def test_every_operation_survives_fuzzing(app, client):
    world = build_world(client)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(SKIPPED_PATHS):
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures.extend(fuzz_operation(operation, mode, world))
    assert operations > 40
    assert failures == [], "\n\n".join(failures[:20])


def test_fuzzing_detects_a_server_error(app, client, monkeypatch):
    """The harness itself: a planted 500 must be reported, or a green run means nothing."""

    def explode(self):
        raise RuntimeError("planted failure")

    monkeypatch.setattr(health.Health, "get", explode)
    world = build_world(client)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operation = next(
        r.ok() for r in schema.get_all_operations() if r.ok().label == "GET /api/v1/health"
    )
    failures = fuzz_operation(operation, GenerationMode.POSITIVE, world)
    assert failures and "Server error" in failures[0]
