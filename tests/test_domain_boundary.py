"""The domain knows nothing of HTTP: no module of a domain package imports flask-smorest or
flask-login, or reads flask's request, g or session (the app's configuration is fine).

The front ends (practice/api, practice/web, practice/login.py, practice/http.py) build an
Actor at the request boundary and map the domain's errors (practice/errors.py); this
test reads the domain's source with `ast`, so it needs no application or database.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure  # reads source files: no app, no database

PRACTICE = Path(__file__).resolve().parent.parent / "practice"
# Every package of the domain, and the domain modules that sit at the top level. A new
# domain package belongs here (the test below fails until it is listed or excluded).
DOMAIN_PACKAGES = (
    "audit",
    "auth",
    "clients",
    "keys",
    "measures",
    "notes",
    "record",
    "scheduling",
    "themes",
)
DOMAIN_MODULES = (
    "actor.py",
    "backup.py",
    "database.py",
    "errors.py",
    "export.py",
    "files.py",
    "models.py",
    "paging.py",
    "versions.py",
)
FRONT_END_PACKAGES = ("api", "web", "data")
# The request boundary, the app factory and the commands (and what the demo seeds).
BOUNDARY_MODULES = (
    "__init__.py",
    "backup_cli.py",
    "cli.py",
    "demo.py",
    "demo_cli.py",
    "demo_stories.py",
    "extensions.py",
    "http.py",
    "input_guard.py",
    "login.py",
)
FORBIDDEN_MODULES = ("flask_smorest", "flask_login")
FORBIDDEN_FLASK_NAMES = ("request", "g", "session")


def domain_files() -> list[Path]:
    files = [PRACTICE / name for name in DOMAIN_MODULES]
    for package in DOMAIN_PACKAGES:
        files.extend(sorted((PRACTICE / package).rglob("*.py")))
    return files


def violations(source: str) -> list[str]:
    """What in `source` reaches for HTTP: imports of the forbidden modules, and reads of
    flask's request, g or session however they were imported."""
    found = []
    flask_aliases = set()  # names bound to the flask module (or flask.globals)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in FORBIDDEN_MODULES:
                    found.append(f"line {node.lineno}: import {alias.name}")
                if alias.name in ("flask", "flask.globals"):
                    flask_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in FORBIDDEN_MODULES:
                found.append(f"line {node.lineno}: from {node.module} import …")
            if node.module in ("flask", "flask.globals"):
                for alias in node.names:
                    if alias.name in FORBIDDEN_FLASK_NAMES:
                        found.append(f"line {node.lineno}: from flask import {alias.name}")
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in FORBIDDEN_FLASK_NAMES
            and ast.unparse(node.value) in flask_aliases
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", domain_files(), ids=lambda p: str(p.relative_to(PRACTICE)))
def test_domain_module_knows_nothing_of_http(path: Path):
    assert violations(path.read_text()) == []


def test_every_package_and_module_is_placed_on_one_side():
    """A new package or top-level module must be placed on one side of the boundary."""
    packages = {p.name for p in PRACTICE.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert packages <= set(DOMAIN_PACKAGES) | set(FRONT_END_PACKAGES)
    modules = {p.name for p in PRACTICE.glob("*.py")}
    assert modules <= set(DOMAIN_MODULES) | set(BOUNDARY_MODULES)


@pytest.mark.parametrize(
    "source",
    [
        "from flask_smorest import abort",
        "import flask_login",
        "from flask_login import current_user",
        "from flask import current_app, request",
        "from flask import g as flask_g",
        "from flask import session",
        "from flask.globals import request",
        "import flask\nflask.request.remote_addr",
        "import flask as f\nx = f.g.user",
    ],
)
def test_the_walker_catches_each_way_in(source: str):
    assert violations(source)


@pytest.mark.parametrize(
    "source",
    [
        "from flask import current_app\ncurrent_app.config['X']",
        "from sqlalchemy.orm import Session\nsession = Session()",
        "db.session.add(x)",
        "request = build()\nrequest.path",
    ],
)
def test_the_walker_lets_the_domain_be(source: str):
    assert violations(source) == []
