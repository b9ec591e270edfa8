"""The OpenAPI document, proven from outside: a client generated from it by
openapi-python-client signs in with a token, creates a client, books an appointment,
writes, edits (If-Match) and signs a note and reads the theme history, against a live
server (tests/openapi_scenario.py).

The generator lives in its own virtualenv (`.venv-openapi`, made here on first use from
PyPI, never a dependency of the app); the client is generated once per test run.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from practice.extensions import db
from tests.factories import PASSWORD, make_practice, make_user

ROOT = Path(__file__).resolve().parents[2]
GENERATOR_ENV = Path(os.environ.get("PRACTICE_OPENAPI_VENV", ROOT / ".venv-openapi"))
# The generator, and what the code it generates imports.
GENERATOR = ("openapi-python-client==0.29.1", "httpx>=0.23,<0.29", "python-dateutil>=2.8")
SCENARIO = Path(__file__).resolve().parents[1] / "openapi_scenario.py"
# image/svg+xml is text the generator does not know by name.
CONFIG = "post_hooks: []\ncontent_type_overrides:\n  image/svg+xml: text/plain\n"


def generator_env() -> Path:
    """The generator's virtualenv, created once (a lock keeps parallel runs apart)."""
    GENERATOR_ENV.parent.mkdir(parents=True, exist_ok=True)
    marker = GENERATOR_ENV / ".installed"
    with open(f"{GENERATOR_ENV}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists() or marker.read_text() != "\n".join(GENERATOR):
            venv.create(GENERATOR_ENV, with_pip=True, clear=True)
            pip = [str(GENERATOR_ENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            subprocess.run([*pip, *GENERATOR], check=True, timeout=600)
            marker.write_text("\n".join(GENERATOR))
    return GENERATOR_ENV


@pytest.fixture(scope="session")
def generated_client(app, tmp_path_factory) -> Path:
    """Generate `practice_api_client` from this run's document; return its parent dir."""
    env = generator_env()
    out = tmp_path_factory.mktemp("generated")
    document = out / "openapi.json"
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    document.write_bytes(response.data)
    config = out / "config.yml"
    config.write_text(CONFIG)
    result = subprocess.run(
        [
            str(env / "bin" / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(out / "practice_api_client"),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator warns about every part of the document it cannot turn into code.
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    return out


@pytest.mark.live
def test_a_generated_client_runs_a_session_from_booking_to_theme_history(
    live_server, generated_client
):
    with live_server.app.app_context():
        user = make_user(make_practice(), ["owner", "clinician"])
        email = user.email
        db.session.commit()
    result = subprocess.run(
        [
            str(GENERATOR_ENV / "bin" / "python"),
            str(SCENARIO),
            live_server.url,
            email,
            PASSWORD,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(generated_client)},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    seen = json.loads(result.stdout)
    assert seen["roles"] == ["clinician", "owner"]
    assert seen["booking"]["duration"] == 50
    assert seen["created"] == {"version": 1, "etag": '"1"'}
    assert seen["stale"] == {"status": 412, "error": True, "code": 412}
    assert seen["edited"] == {"version": 2, "etag": '"2"', "summary": "second draft"}
    assert seen["signed"] == {"status": "signed", "version": 3}
    assert seen["themes"] == [{"name": "Seeking approval", "sessions_observed": 1}]
    assert seen["csv"]["status"] == 200 and seen["csv"]["type"].startswith("text/csv")


def test_the_scenario_imports_nothing_of_the_app():
    """From outside means from outside: the scenario knows only the generated package."""
    source = SCENARIO.read_text()
    assert "import practice." not in source and "from practice." not in source
    assert sys.executable not in source
