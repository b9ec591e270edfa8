"""SECURITY.md item 31: bad input never reaches a 500. For every operation of the OpenAPI
document, with real ids in the path and every documented body and query field: over-deep
JSON, NUL bytes and lone surrogates, and dates an offset pushes past year 1 or 9999 are
refused at the boundary (400/422 — 404 for a path no resource can have —, the error
shape, one log line without a traceback)."""

from __future__ import annotations

import json
import logging
import re
import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from practice.input_guard import MAX_JSON_DEPTH, TEXT_MESSAGE, json_depth_exceeds
from tests.access_world import build_world
from tests.helpers import assert_error

BAD_TEXT = ("\ud800", "a\udfffb", "a\x00b", "\x00")
BAD_DATES = (
    "9999-12-31T23:00:00-05:00",  # UTC is past 9999
    "0001-01-01T00:30:00+01:00",  # UTC is before year 1
    "00010101T003000+0100",  # the same, ISO 8601 basic format
    "9999-12-31",  # a day later overflows
    "0001-01-01",
)
DEEP = "[" * 1000 + "]" * 1000
PATH_IDS = {  # path parameter -> the world's object
    "client_id": "client",
    "figure_id": "figure",
    "script_id": "script",
    "note_id": "draft_note",
    "appointment_id": "appointment",
    "room_id": "room",
    "token_id": "author_token",
    "measure_id": "measure",
}
SURROGATE = re.compile("[\ud800-\udfff]")
UUID_PARAMETER = re.compile(r"\{(\w+)\}")


@pytest.fixture
def world(client):
    return build_world(client)


@pytest.fixture
def operations(client, world) -> list[dict]:
    """Each operation: method, a path with real ids, and its body and query field names."""
    document = client.get("/api/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    author = str(world.users["author"].id)
    ids = {name: str(world.ids[key]) for name, key in PATH_IDS.items()}
    ids |= {"user_id": author, "clinician_id": author}
    unknown = str(uuid.uuid4())  # a parameter added later: the boundary answers first anyway
    found = []
    for template, item in document["paths"].items():
        path = UUID_PARAMETER.sub(lambda m: ids.get(m.group(1), unknown), template)
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = operation.get("parameters", []) + item.get("parameters", [])
            query = [p["name"] for p in parameters if p["in"] == "query"]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            fields = _properties(body["schema"], schemas) if body else []
            found.append({"method": method.upper(), "path": path, "query": query, "body": fields})
    assert len(found) > 40
    return found


def _properties(schema: dict, schemas: dict) -> list[str]:
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return list(schema.get("properties", {})) or ["value"]


def _send(client, world, operation, *, body=None, raw=None, query=None, path=None):
    data = raw if raw is not None else json.dumps(body) if body is not None else None
    return client.open(
        path or operation["path"],
        method=operation["method"],
        headers=world.headers["author"],
        data=data,
        content_type="application/json" if data is not None else None,
        query_string=query,
    )


def _query(name: str, value: str) -> str:
    """A query string carrying `value` as its UTF-8 bytes, even a lone surrogate's."""
    return f"{name}={quote(value.encode('utf-8', 'surrogatepass'))}"


def _refused(response, codes: tuple[int, ...]) -> dict:
    assert response.status_code in codes, (response.status_code, response.get_data(True))
    return assert_error(response, response.status_code)


def test_every_operation_refuses_every_class_of_bad_input(client, world, operations, caplog):
    caplog.set_level(logging.INFO, logger="practice.http")
    sent = 0
    for operation in operations:
        label = f"{operation['method']} {operation['path']}"
        body = _refused(_send(client, world, operation, raw=DEEP), (400,))
        assert "nests deeper" in body["message"], label
        _refused(_send(client, world, operation, path=operation["path"] + "%00"), (404,))
        fields = operation["body"] or ["value"]
        for value in BAD_TEXT + BAD_DATES:
            body = _refused(
                _send(client, world, operation, body={name: value for name in fields}), (422,)
            )
            assert set(body["errors"]["json"]) == set(fields), label
            message = body["errors"]["json"][fields[0]]
            nested = _send(client, world, operation, body={fields[0]: [{"deeper": [value]}]})
            errors = _refused(nested, (422,))["errors"]["json"]
            assert errors == {fields[0]: {"0": {"deeper": {"0": message}}}}, label
            for name in operation["query"] or ["q"]:
                response = _send(client, world, operation, query=_query(name, value))
                if SURROGATE.search(value):
                    # Not UTF-8 on the wire: the server keeps the %-escapes as plain text.
                    assert response.status_code < 500, label
                    continue
                assert name in _refused(response, (422,))["errors"]["query"], label
                sent += 1
            sent += 2
        sent += 2
    refusals = [r for r in caplog.records if r.getMessage().startswith("refused bad input")]
    assert len(refusals) == sent
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in refusals)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_refused_input_is_not_logged(client, world, operations, caplog):
    caplog.set_level(logging.INFO)
    login = {"method": "POST", "path": "/api/v1/auth/login"}
    secret = "zz-unlogged-\x00-marker"
    _refused(_send(client, world, login, body={"email": secret, "password": "x"}), (422,))
    _refused(_send(client, world, login, query={"mark": secret}), (422,))
    assert "unlogged" not in caplog.text and "refused bad input (body)" in caplog.text


def test_the_depth_limit_is_exact(client, world):
    login = {"method": "POST", "path": "/api/v1/auth/login"}
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert not json_depth_exceeds(at_limit)
    assert json_depth_exceeds("[" + at_limit + "]")
    assert not json_depth_exceeds('["' + "[" * 100 + '\\"", {"a": "{{{{"}]')
    # At the limit the body parses and the schema answers (it is not an object).
    assert _send(client, world, login, raw=at_limit).status_code == 422
    assert (
        "nests deeper"
        in _refused(_send(client, world, login, raw="[" + at_limit + "]"), (400,))["message"]
    )
    objects = '{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)
    _refused(_send(client, world, login, raw=objects), (400,))


def test_good_input_next_to_the_edges_still_passes(client, world):
    """Paired surrogates (an emoji), dates near the edges with harmless offsets."""
    headers = world.headers["author"]
    base = f"/api/v1/clients/{world.ids['client']}"
    created = client.post(
        f"{base}/scripts",
        headers=headers,
        data='{"name": "Waits \\ud83d\\ude00 for rebuff"}',
        content_type="application/json",
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["name"] == "Waits \U0001f600 for rebuff"
    notes = client.get(f"{base}/notes?from=1000-01-01&to=8999-12-31", headers=headers)
    assert notes.status_code == 200, notes.get_json()
    owner = world.headers["owner"]
    audit = client.get(
        "/api/v1/audit?since=1000-01-01T00:00:00%2B00:00&until=8999-12-31T23:00:00-00:59",
        headers=owner,
    )
    assert audit.status_code == 200, audit.get_json()


def test_a_form_is_checked_like_json(client, world):
    response = client.post("/api/v1/auth/login", data={"email": "a\x00b", "password": "p"})
    assert _refused(response, (422,))["errors"] == {"form": {"email": [TEXT_MESSAGE]}}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def poisoned(draw) -> object:
    """A JSON value with one bad string planted at a random place."""
    bad = draw(st.sampled_from(BAD_TEXT + BAD_DATES))
    for _ in range(draw(st.integers(0, 3))):
        beside = draw(json_values)
        if draw(st.booleans()):
            bad = [beside, bad]
        else:
            key = draw(st.text(max_size=4))
            bad = {key + "_": beside, key: bad}
    return {"field": bad, "other": draw(json_values)}


def test_generated_poison_in_any_body_is_refused(client, world, operations):
    @given(data=st.data())
    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(data):
        operation = data.draw(st.sampled_from(operations))
        body = data.draw(poisoned())
        _refused(_send(client, world, operation, body=body), (422,))

    run()
