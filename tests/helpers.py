"""Helpers for any test that goes through the app: the API.md error shape, settling setup,
and plain HTTP calls to a live server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from practice.extensions import db


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
