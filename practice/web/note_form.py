"""The note editor's form ↔ the template's content dict.

Fields are named by their path in the content ("narrative.summary",
"relationship_episodes.0.wish"), so the schema's field errors land beside their field
by the same name. Parsing only reshapes what was typed: every rule is the API's schema
(NoteContentSchema) and the service's reference check.
"""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

SECTIONS = ("transference", "countertransference", "defenses", "narrative")
REPEATED = ("relationship_episodes", "enactments", "ruptures")
MULTI = {"reactions", "repair", "observed", "scripts_active"}
INTEGERS = {"intensity", "therapist_contribution", "predominant_level"}
BOOLEANS = {"present", "used_in_session"}
TOP_LEVEL = ("scripts_active", "ipt_focus")
_NUMBER = re.compile(r"^-?[0-9]{1,6}$")
MAX_ROWS = 60  # more than the schema allows, so the schema says so


def _value(leaf: str, raw):
    if leaf in MULTI:
        return [v for v in raw if v != ""]
    raw = raw.strip() if leaf not in ("text", "summary") else raw
    if raw == "":
        return None
    if leaf in INTEGERS and _NUMBER.match(raw):
        return int(raw)
    if leaf in BOOLEANS:
        return {"true": True, "false": False}.get(raw, raw)
    if leaf == "markers":
        return [m.strip() for m in raw.split(",") if m.strip()]
    return raw


def _read(form: MultiDict, name: str):
    leaf = name.rsplit(".", 1)[-1]
    return _value(leaf, form.getlist(name) if leaf in MULTI else form.get(name, ""))


def parse(form: MultiDict, *, keep_blank_rows: bool = False) -> dict:
    """The content typed into the editor. Blank repeated rows are dropped unless kept
    (while the user adds and removes rows before saving)."""
    content: dict = {}
    rows: dict[str, dict[int, dict]] = {name: {} for name in REPEATED}
    for name in form:
        parts = name.split(".")
        if parts[0] in TOP_LEVEL and len(parts) == 1:
            value = _read(form, name)
            if value not in (None, []):
                content[name] = value
        elif parts[0] in SECTIONS and len(parts) == 2:
            value = _read(form, name)
            if value not in (None, []):
                content.setdefault(parts[0], {})[parts[1]] = value
        elif parts[0] in REPEATED and len(parts) == 3 and parts[1].isdigit():
            index = int(parts[1])
            if index >= MAX_ROWS:
                continue
            row = rows[parts[0]].setdefault(index, {})
            value = _read(form, name)
            if value not in (None, []):
                row[parts[2]] = value
    for name, found in rows.items():
        items = [found[i] for i in sorted(found) if keep_blank_rows or found[i]]
        if items:
            content[name] = items
    return content


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested errors → {"relationship_episodes.0.wish": [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, list):
        flat[prefix or "_schema"] = [str(m) for m in errors if not isinstance(m, dict)]
        for item in errors:
            if isinstance(item, dict):
                flat.update(flatten_errors(item, prefix))
        return flat
    for key, value in (errors or {}).items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key == "_schema":
            path = prefix or "_schema"
        flat.update(flatten_errors(value, path))
    return flat


def change_rows(content: dict, action: str) -> tuple[dict, str | None]:
    """Apply "add:<part>" or "remove:<part>:<index>" to the content being edited;
    returns the content and the id of the element to focus afterwards."""
    verb, _, rest = action.partition(":")
    part, _, index = rest.partition(":")
    if part not in REPEATED:
        return content, None
    items = list(content.get(part) or [])
    if verb == "add":
        items.append({})
        content[part] = items
        return content, f"{part}-{len(items) - 1}"
    if verb == "remove" and index.isdigit() and int(index) < len(items):
        del items[int(index)]
        content[part] = items
        return content, f"{part}-add"
    return content, None


def split_new_scripts(content: dict) -> tuple[dict, dict[int, str]]:
    """The content to save, without the "name a new script" fields of its episodes, and
    those names by episode index (only where no existing script was picked)."""
    names: dict[int, str] = {}
    episodes = []
    for index, episode in enumerate(content.get("relationship_episodes") or []):
        episode = dict(episode)
        name = episode.pop("new_script", None)
        if name and not episode.get("script_id"):
            names[index] = name
        episodes.append(episode)
    saved = {**content, "relationship_episodes": episodes} if episodes else dict(content)
    return saved, names
