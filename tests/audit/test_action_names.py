"""Every action the code records has a plain-English name for the owner's audit page.

The code is read, not run: every string literal in practice/ shaped like an action
("domain.verb") is one, unless it names something else (an endpoint, a module, a column
or a file). Refusals that practice.api.common.audit_refusals names from the blueprint and
the verb are added for each blueprint that registers it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from practice.api import common
from practice.audit.names import ACTION_NAMES, readable

ROOT = Path(__file__).resolve().parents[2] / "practice"
ACTION = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")
NOT_ACTIONS = re.compile(r"\.(id|html|json|js|css|py|txt|db)$|^web(_[a-z]+)?\.")


def _is_module(text: str) -> bool:
    if not text.startswith("practice."):
        return False
    path = ROOT / text.removeprefix("practice.").replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def literal_actions() -> set[str]:
    """Action-shaped literals whose domain is one the code records under (the domain of
    a literal handed to `record(...)` or named *ACTION), minus loggers, modules and
    constants named for something else (a session.info key, a cache name)."""
    shaped, loggers, domains, named = set(), set(), set(), set()
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if ACTION.match(node.value) and not NOT_ACTIONS.search(node.value):
                    shaped.add(node.value)
            elif isinstance(node, ast.Call):
                texts = [
                    a.value
                    for a in [*node.args, *(k.value for k in node.keywords)]
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
                if _call_name(node) == "getLogger":
                    loggers.update(texts)
                elif _call_name(node) == "record":
                    domains.update(t.split(".")[0] for t in texts if ACTION.match(t))
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                names = [getattr(t, "id", "") for t in node.targets]
                if isinstance(node.value.value, str):
                    if any("ACTION" in n for n in names):
                        domains.add(node.value.value.split(".")[0])
                    elif names and all(n.isupper() for n in names):
                        named.add(node.value.value)  # a constant for something else
    return {
        text
        for text in shaped - loggers - named
        if text.split(".")[0] in domains and not _is_module(text)
    }


def refusal_actions(app) -> set[str]:
    """What audit_refusals would record for each route of a blueprint that uses it."""
    names = set()
    for blueprint, funcs in app.after_request_funcs.items():
        if not blueprint or common.audit_refusals not in funcs:
            continue
        resource = blueprint.removesuffix("s")
        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith(blueprint + "."):
                continue
            last = rule.rule.rstrip("/").rsplit("/", 1)[-1]
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                if last in common.SUB_ACTIONS:
                    verb = common.SUB_ACTIONS[last]
                elif method == "GET" and not last.startswith("<"):
                    verb = "list"
                else:
                    verb = common.VERBS.get(method, "call")
                names.add(f"{resource}.{verb}")
    return names


def test_the_scan_finds_the_actions_it_should():
    found = literal_actions()
    assert {"auth.login", "client.create", "client.duplicate_override", "user.deactivate"} <= found
    assert "practice.http" not in found and "web_account.account" not in found


def test_every_recorded_action_has_a_name(app):
    missing = sorted((literal_actions() | refusal_actions(app)) - set(ACTION_NAMES))
    assert missing == [], f"give these actions a name in practice/audit/names.py: {missing}"


def test_names_are_plain_sentences_and_unknown_actions_still_show():
    for action, name in ACTION_NAMES.items():
        assert name and name[0].isupper() and "_" not in name, action
    assert readable("made.up") == "made.up"
