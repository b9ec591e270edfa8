"""Domain refusals are answered once, by practice/http.py's table: a sign-in refused is
401, a step-up 403, a throttled one 429 with its Retry-After header set by the one
mapper, an owner's own lockout 409; and no view of the JSON API catches a domain error
to answer it itself (the web pages may, to show a form again with its field messages)."""

from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import pytest

from practice import errors
from practice.auth.admin import OwnSeat
from practice.auth.errors import PolicyError, SignInRefused, SignInThrottled, StepUpRefused
from practice.clients.duplicates import PossibleDuplicate
from practice.http import as_http, domain_status

pytestmark = pytest.mark.pure  # no app, no database

API = Path(__file__).resolve().parent.parent / "practice" / "api"
# (module, function) pairs still catching a domain error, each a known debt in
# ARCHITECTURE.md; the list only shrinks (it is empty).
LEFT: set[tuple[str, str]] = set()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (SignInRefused("Email or password is incorrect."), 401),
        (StepUpRefused("Confirm this with your current password."), 403),
        (SignInThrottled("Too many failed attempts; try again later.", 37), 429),
        (OwnSeat("Owners cannot deactivate themselves."), 409),
        (PolicyError({"email": ["A user with this email already exists."]}), 422),
        (PossibleDuplicate([]), 409),
    ],
)
def test_each_refusal_has_its_status(error, status):
    assert domain_status(error) == status
    http = as_http(error)
    assert http.code == status
    assert http.data["message"] == error.message


def test_throttled_carries_retry_after_and_others_do_not():
    throttled = as_http(SignInThrottled("Too many failed attempts; try again later.", 37))
    assert throttled.data["headers"] == {"Retry-After": "37"}
    assert "headers" not in as_http(SignInRefused("Email or password is incorrect.")).data
    assert "headers" not in as_http(errors.Throttled()).data  # no wait known: no header


def test_field_errors_go_under_the_body():
    http = as_http(PolicyError({"email": ["A user with this email already exists."]}))
    assert http.data["errors"] == {"json": {"email": ["A user with this email already exists."]}}


def _resolve(module, dotted: str):
    """The object `dotted` (e.g. `service.PolicyError`) names in the module."""
    head, *rest = dotted.split(".")
    value = getattr(module, head, None) or getattr(builtins, head)
    for part in rest:
        value = getattr(value, part)
    return value


def _catchers(module_name: str, tree: ast.AST):
    """(function name, caught class) for every `except` of the module."""
    module = importlib.import_module(module_name)
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                for name in names:
                    yield function.name, _resolve(module, ast.unparse(name))


def test_no_api_view_answers_a_domain_error_itself():
    found = []
    for path in sorted(API.glob("*.py")):
        name = f"practice.api.{path.stem}"
        for function, kind in _catchers(name, ast.parse(path.read_text())):
            if issubclass(kind, errors.DomainError) and (name, function) not in LEFT:
                found.append(f"{name}.{function} catches {kind.__name__}")
    assert not found, "map it in practice/http.py DOMAIN_STATUSES instead:\n" + "\n".join(found)
