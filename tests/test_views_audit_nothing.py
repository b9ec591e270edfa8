"""No view writes an audit entry: the service that does the write records it, so the
JSON API and the web pages get the same entries without copying them. This reads the
front ends' source with `ast` (no app, no database) and fails on any call of
`audit.record` (or `record` imported from practice.audit.service) in practice/api/ or
practice/web/ outside the known debts below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure

PRACTICE = Path(__file__).resolve().parent.parent / "practice"
FRONT_ENDS = ("api", "web")
# (file, function) still auditing in a view: ARCHITECTURE.md's Known debts. The list
# only shrinks; a new entry here needs a reason there.
LEFT = {
    # refusals of input no service saw (a form or body the schema refused)
    ("api/common.py", "audit_refusals"),
    ("web/pages.py", "refused"),
    # not yet moved into their services
    ("api/appointments.py", "get"),
    ("api/audit.py", "get"),
    ("web/admin.py", "audit_log"),
    ("web/desk.py", "_upcoming"),
    ("web/frontdesk.py", "load_appointments"),
    ("web/schedule.py", "week"),
}


def _audit_calls(tree: ast.AST):
    """(enclosing function, line) of every audit.record(...) / record(...) imported from
    the audit service."""
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "practice.audit.service"
        for alias in node.names
        if alias.name == "record"
    }
    audit_modules = {
        alias.asname or alias.name.rsplit(".", 1)[-1]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "practice.audit"
        for alias in node.names
        if alias.name == "service"
    }
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            target = node.func
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "record"
                and isinstance(target.value, ast.Name)
                and target.value.id in audit_modules
            ) or (isinstance(target, ast.Name) and target.id in imported):
                yield function.name, node.lineno


def found() -> set[tuple[str, str]]:
    calls = set()
    for package in FRONT_ENDS:
        for path in sorted((PRACTICE / package).rglob("*.py")):
            name = str(path.relative_to(PRACTICE))
            for function, _line in _audit_calls(ast.parse(path.read_text())):
                calls.add((name, function))
    return calls


def test_no_view_writes_an_audit_entry():
    new = sorted(found() - LEFT)
    assert not new, "record the audit entry in the service instead:\n" + "\n".join(
        f"{file} {function}" for file, function in new
    )


def test_the_list_of_debts_only_names_what_is_still_there():
    gone = sorted(LEFT - found())
    assert not gone, "moved into a service: take off LEFT\n" + "\n".join(map(str, gone))


def test_the_walk_sees_both_spellings():
    source = (
        "from practice.audit import service as audit\n"
        "from practice.audit.service import record as note_it\n"
        "def view():\n    audit.record(1, 'x')\n    note_it(1, 'y')\n"
    )
    assert [f for f, _ in _audit_calls(ast.parse(source))] == ["view", "view"]
