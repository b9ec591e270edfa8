"""Start-up: PRACTICE_CONFIG, production refusals, development's generated secrets."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import config
from practice import create_app
from practice.keys.keyring import generate_keyring
from tests.conftest import REDIS_TEST_URL

ROOT = Path(__file__).resolve().parents[1]
BOOT = "from practice import create_app; create_app(); print('booted')"
GOOD_SECRET = "s" * 64


def boot(env: dict, code: str = BOOT) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter with exactly `env` (plus PATH)."""
    return _run(env, "-c", code)


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    """`flask --app wsgi ARGS` in a fresh interpreter with exactly `env` (plus PATH)."""
    return _run(env, "-m", "flask", "--app", "wsgi", *args)


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PRACTICE_", "FLASK_"))}
    for name in ("SECRET_KEY", "DATABASE_URL", "RATELIMIT_STORAGE_URI"):
        clean.pop(name, None)
    clean.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def production(tmp_path, database) -> dict:
    keyring = tmp_path / "keyring.json"
    generate_keyring(keyring)
    return {
        "PRACTICE_CONFIG": "production",
        "SECRET_KEY": GOOD_SECRET,
        "DATABASE_URL": database.url,
        "PRACTICE_KEYRING": str(keyring),
        "PRACTICE_INSTANCE_PATH": str(tmp_path / "instance"),
        "RATELIMIT_STORAGE_URI": REDIS_TEST_URL,
    }


def test_production_starts_when_given_everything(production):
    result = boot(production)
    assert result.returncode == 0, result.stderr
    assert "booted" in result.stdout


@pytest.mark.parametrize("name", ["SECRET_KEY", "DATABASE_URL", "PRACTICE_KEYRING"])
def test_production_refuses_to_start_without(production, name):
    del production[name]
    result = boot(production)
    assert result.returncode != 0
    assert "booted" not in result.stdout
    assert name in result.stderr and "missing" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("storage", [None, "memory://"])
def test_production_refuses_rate_limits_counted_per_process(production, storage):
    """memory:// (the default) keeps counts in each worker process: the sign-in throttle
    would allow the full limit per worker and per instance, silently."""
    if storage is None:
        del production["RATELIMIT_STORAGE_URI"]
    else:
        production["RATELIMIT_STORAGE_URI"] = storage
    result = boot(production)
    assert result.returncode != 0 and "booted" not in result.stdout
    assert "RATELIMIT_STORAGE_URI" in result.stderr and "per process" in result.stderr
    assert "PRACTICE_SINGLE_PROCESS=1" in result.stderr and "Traceback" not in result.stderr
    for value in ("yes", "0", "true"):  # only the explicit statement counts
        result = boot({**production, "PRACTICE_SINGLE_PROCESS": value})
        assert result.returncode != 0 and f"not {value!r}" in result.stderr
    result = boot({**production, "PRACTICE_SINGLE_PROCESS": "1"})
    assert result.returncode == 0, result.stderr
    assert "booted" in result.stdout


def test_production_names_everything_missing_at_once(production):
    result = boot({"PRACTICE_CONFIG": "production", **{"PRACTICE_INSTANCE_PATH": "/nonexistent"}})
    assert result.returncode != 0
    for name in ("SECRET_KEY", "DATABASE_URL", "PRACTICE_KEYRING"):
        assert name in result.stderr


def test_production_refuses_a_short_secret_key(production):
    production["SECRET_KEY"] = "short"
    result = boot(production)
    assert result.returncode != 0 and "SECRET_KEY (too short" in result.stderr


def test_production_refuses_a_short_audit_key(production):
    production["PRACTICE_AUDIT_KEY"] = "short"
    result = boot(production)
    assert result.returncode != 0 and "PRACTICE_AUDIT_KEY (too short" in result.stderr
    production["PRACTICE_AUDIT_KEY"] = "a" * 40
    assert boot(production).returncode == 0


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("keyring", "words"),
    [
        (lambda d: str(d / "no-such-keyring.json"), "cannot read"),
        (lambda d: str(d), "cannot read"),
        (lambda d: _write(d / "bad.json", "{not json"), "not valid JSON"),
        (lambda d: _write(d / "empty.json", ""), "not valid JSON"),
        (lambda d: _write(d / "nokeys.json", '{"active": "a", "keys": {}}'), "needs"),
        (
            lambda d: _write(d / "short.json", '{"active": "a", "keys": {"a": "c2hvcnQ="}}'),
            "32 bytes",
        ),
        (lambda d: _write(d / "b64.json", '{"active": "a", "keys": {"a": "***"}}'), "not base64"),
        (
            lambda d: _write(
                d / "act.json", json.dumps({"active": "zz", "keys": {"a": "A" * 43 + "="}})
            ),
            "active",
        ),
        (lambda d: '{"active": ', "not valid JSON"),
    ],
)
def test_production_refuses_unreadable_or_malformed_keyring(production, tmp_path, keyring, words):
    production["PRACTICE_KEYRING"] = keyring(tmp_path)
    result = boot(production)
    assert result.returncode != 0
    assert "PRACTICE_KEYRING" in result.stderr and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert "A" * 43 not in result.stderr


@pytest.mark.parametrize("value", ["staging", "PRODUCTION", ""])
def test_unknown_config_name_exits_with_message(value, tmp_path):
    result = boot({"PRACTICE_CONFIG": value, "PRACTICE_INSTANCE_PATH": str(tmp_path)})
    if value == "":
        # Empty means unset: the development default.
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0
    assert f"unknown PRACTICE_CONFIG {value!r}" in result.stderr
    assert "development, testing, production" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SESSION_IDLE_MINUTES", "fifteen"),
        ("SESSION_IDLE_MINUTES", "0"),
        ("SESSION_MAX_HOURS", "-3"),
        ("PRACTICE_RETENTION_YEARS", "7.5"),
        ("PRACTICE_PROXY_HOPS", "-1"),
        ("PRACTICE_PROXY_HOPS", ""),
        ("PRACTICE_PROXY_HOPS", "\u00b2"),  # a digit to str.isdigit, not to int()
    ],
)
def test_bad_whole_number_settings_are_named(production, name, value):
    production[name] = value
    result = boot(production)
    assert result.returncode != 0 and f"{name} must be a whole number" in result.stderr


def test_whole_number_settings_are_read_and_zero_proxies_is_allowed(monkeypatch):
    monkeypatch.setenv("PRACTICE_PROXY_HOPS", "0")
    monkeypatch.setenv("PRACTICE_RETENTION_YEARS", " 10 ")
    settings = config.Config.from_environment()
    assert (settings["PRACTICE_PROXY_HOPS"], settings["PRACTICE_RETENTION_YEARS"]) == (0, 10)
    assert settings["SESSION_IDLE_MINUTES"] == 15 and config.Config.problems() == []


def test_development_generates_secrets_once_and_reuses_them(tmp_path):
    instance = tmp_path / "instance"
    env = {"PRACTICE_CONFIG": "development", "PRACTICE_INSTANCE_PATH": str(instance)}
    show = (
        "from practice import create_app; app = create_app(); "
        "print(app.config['SECRET_KEY']); print(app.extensions['keyring'].active_id)"
    )
    first = boot(env, show)
    assert first.returncode == 0, first.stderr
    assert "generated a development secret key" in first.stderr
    assert "generated a development keyring" in first.stderr
    secret_file, keyring_file = instance / "secret_key", instance / "keyring.json"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keyring_file.stat().st_mode) == 0o600
    keyring_before = keyring_file.read_text()

    second = boot(env, show)
    assert second.returncode == 0, second.stderr
    assert "generated" not in second.stderr
    assert second.stdout == first.stdout
    assert keyring_file.read_text() == keyring_before
    assert first.stdout.split()[0] == secret_file.read_text().strip()
    assert len(first.stdout.split()[0]) >= 64


def test_development_refuses_an_empty_secret_key_file(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("")
    result = boot({"PRACTICE_CONFIG": "development", "PRACTICE_INSTANCE_PATH": str(instance)})
    assert result.returncode != 0 and "secret_key is empty" in result.stderr


def test_instance_path_is_read_when_the_app_is_built(tmp_path, monkeypatch, keyring_path):
    monkeypatch.setenv("PRACTICE_INSTANCE_PATH", str(tmp_path / "late"))
    app = create_app(
        "testing",
        {"SECRET_KEY": GOOD_SECRET, "PRACTICE_KEYRING": str(keyring_path),
         "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"},
    )  # fmt: skip
    assert Path(app.instance_path) == tmp_path / "late"


def test_environment_is_read_when_the_app_is_built(tmp_path, monkeypatch):
    monkeypatch.setenv("PRACTICE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "late-secret-" + "x" * 40)
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "7")
    app = create_app("development")
    assert app.config["SECRET_KEY"].startswith("late-secret-")
    assert app.config["SESSION_IDLE_MINUTES"] == 7
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'practice.db'}"
    assert not (tmp_path / "secret_key").exists()


def test_a_bad_ccrt_tag_file_stops_startup_by_name(tmp_path):
    path = tmp_path / "tags.json"
    path.write_text('{"wish": 3}', "utf-8")
    env = {"PRACTICE_INSTANCE_PATH": str(tmp_path / "instance"), "PRACTICE_CCRT_TAGS": str(path)}
    result = boot(env)
    assert result.returncode != 0
    assert "PRACTICE_CCRT_TAGS: wish must be a list" in result.stderr


MODES = """
import os
os.umask(0o022)  # the usual umask: what a file gets when nobody chooses its mode
import flask_migrate, sqlalchemy as sa
from practice import create_app
from practice.extensions import db
app = create_app()
path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
print("db-before-connect", oct(os.stat(path).st_mode & 0o777))
with app.app_context():
    flask_migrate.upgrade()
    with db.engine.connect() as connection:
        connection.execute(sa.text("SELECT count(*) FROM practices"))
        for suffix in ("", "-wal", "-shm"):
            print("db" + suffix, oct(os.stat(path + suffix).st_mode & 0o777))
print("instance", oct(os.stat(app.instance_path).st_mode & 0o777))
"""


def test_development_database_files_are_private_from_the_first_write(tmp_path):
    """issue 14: the SQLite database was created 0644 while the keyring was 0600."""
    instance = tmp_path / "instance"
    result = boot(
        {"PRACTICE_CONFIG": "development", "PRACTICE_INSTANCE_PATH": str(instance)}, MODES
    )
    assert result.returncode == 0, result.stderr
    modes = dict(line.split() for line in result.stdout.splitlines())
    assert modes == {
        "db-before-connect": "0o600",
        "db": "0o600",
        "db-wal": "0o600",
        "db-shm": "0o600",
        "instance": "0o700",
    }
    for name in ("secret_key", "keyring.json"):
        assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600


def _one_line(result: subprocess.CompletedProcess, *words: str) -> None:
    """Failed, with no traceback, the last line of stderr saying what is wrong."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("practice: ") and all(word in last for word in words), last


def test_commands_use_the_apps_defaults_and_say_what_stops_them(tmp_path):
    """issue 14: `flask keys status` wanted PRACTICE_KEYRING in development, and commands
    before `flask db upgrade` ended in tracebacks."""
    instance = tmp_path / "instance"
    env = {"PRACTICE_CONFIG": "development", "PRACTICE_INSTANCE_PATH": str(instance)}
    for command in (["keys", "status"], ["audit", "verify"], ["practice", "demo"]):
        _one_line(flask(env, *command), "no schema", "flask db upgrade")
    assert flask(env, "db", "upgrade").returncode == 0
    status = flask(env, "keys", "status")
    assert status.returncode == 0, status.stderr
    assert f"keyring {instance / 'keyring.json'}: 1 master key(s)" in status.stdout
    rotated = flask(env, "keys", "rotate")
    assert rotated.returncode == 0 and "added master key" in rotated.stdout, rotated.stderr
    assert stat.S_IMODE((instance / "keyring.json").stat().st_mode) == 0o600

    down = {**env, "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    _one_line(flask(down, "audit", "verify"), "cannot use the database", "DATABASE_URL")
    secret_url = {**env, "DATABASE_URL": "not-a-url-with-a-s3cret"}
    result = flask(secret_url, "audit", "verify")
    _one_line(result, "DATABASE_URL", "not a database URL")
    assert "s3cret" not in result.stderr
    no_keyring = {**env, "PRACTICE_KEYRING": str(tmp_path / "missing.json")}
    _one_line(flask(no_keyring, "keys", "status"), "PRACTICE_KEYRING", "cannot read")


def test_make_run_serves_on_the_port_and_host_asked_for():
    """issue 14: `make run` always used port 5000. A dry run (-n) shows the commands."""
    asked = subprocess.run(
        ["make", "-n", "run", "PORT=8123", "HOST=0.0.0.0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "run --host 0.0.0.0 --port 8123" in asked
    assert "practice demo --if-empty" in asked
    default = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "run --host 127.0.0.1 --port 5000" in default
