"""The packages of practice/ import each other in one direction only, and imports sit at
the top of their modules: a function-local import of practice code is allowed only to
break a real cycle, and says so in a comment on the line above (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure

PRACTICE = Path(__file__).resolve().parents[1] / "practice"


def _node(module: str) -> str | None:
    """The package (or top-level module) of practice/ that `module` belongs to."""
    parts = module.split(".")
    return parts[1] if parts[0] == "practice" and len(parts) > 1 else None


def _targets(statement: ast.stmt) -> list[str]:
    if isinstance(statement, ast.ImportFrom) and statement.module:
        if statement.module == "practice":  # from practice import errors, http
            return [f"practice.{alias.name}" for alias in statement.names]
        return [statement.module]
    if isinstance(statement, ast.Import):
        return [alias.name for alias in statement.names]
    return []


def _module_level_imports(tree: ast.Module):
    """Imports run when the module loads: top level, and inside top-level if/try blocks,
    but not under `if TYPE_CHECKING:` (never run)."""
    stack = list(tree.body)
    while stack:
        statement = stack.pop()
        if isinstance(statement, ast.If):
            test = statement.test
            if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
                continue
            stack.extend(statement.body + statement.orelse)
        elif isinstance(statement, ast.Try):
            stack.extend(statement.body + statement.orelse + statement.finalbody)
            for handler in statement.handlers:
                stack.extend(handler.body)
        elif isinstance(statement, ast.Import | ast.ImportFrom):
            yield statement


def _sources():
    for path in sorted(PRACTICE.rglob("*.py")):
        relative = path.relative_to(PRACTICE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        yield path, module, path.read_text(encoding="utf-8")


def import_graph() -> dict[str, dict[str, str]]:
    """{package: {package it imports: where}} for imports that run at load time. The
    factory (practice/__init__.py) imports everything and is left out."""
    graph: dict[str, dict[str, str]] = defaultdict(dict)
    for path, module, text in _sources():
        source = _node(module)
        if source is None:
            continue
        for statement in _module_level_imports(ast.parse(text)):
            for target in _targets(statement):
                imported = _node(target)
                if imported and imported != source:
                    where = f"{path.relative_to(PRACTICE.parent)}:{statement.lineno}"
                    graph[source].setdefault(imported, where)
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, {}):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_package_imports_one_that_imports_it_back():
    graph = import_graph()
    found = cycles(graph)
    detail = [
        f"{a} -> {b} ({graph[a][b]})" for group in found for a in group for b in group
        if b in graph.get(a, {})
    ]  # fmt: skip
    assert not found, "import cycles between packages:\n" + "\n".join(detail)


def test_function_local_imports_of_practice_code_say_which_cycle_they_break():
    unexplained = []
    for path, _module, text in _sources():
        lines = text.splitlines()
        for function in ast.walk(ast.parse(text)):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for statement in ast.walk(function):
                if not any(_node(t) for t in _targets(statement)):
                    continue
                above = lines[statement.lineno - 2] if statement.lineno > 1 else ""
                if "cycle" not in above.lower():
                    unexplained.append(f"{path.relative_to(PRACTICE.parent)}:{statement.lineno}")
    assert not unexplained, "function-local imports without a reason:\n" + "\n".join(unexplained)


def test_the_walk_sees_cycles_and_skips_type_checking_imports():
    assert cycles({"a": {"b": "x"}, "b": {"c": "y"}, "c": {"a": "z"}, "d": {"a": "w"}}) == [
        ["a", "b", "c"]
    ]
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from practice.auth.models import User\n"
        "from practice import errors, http\n"
    )
    targets = [t for s in _module_level_imports(tree) for t in _targets(s)]
    assert sorted(targets) == ["practice.errors", "practice.http", "typing"]
