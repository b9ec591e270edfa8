"""Progress-note and plan forms to and from their content: field names are paths
("ms.mood.pick", "goal.2.obj.0.text"), parsed into the dicts the services validate."""

from __future__ import annotations

import re

from flask import redirect, render_template, url_for
from werkzeug.datastructures import MultiDict

from practice.record.content import MENTAL_STATUS

RISK_FLAGS = ("plan", "intent", "means", "safety_plan")
_GOAL = re.compile(r"goal\.(\d+)\.text")
_OBJECTIVE = re.compile(r"goal\.(\d+)\.obj\.(\d+)\.text")


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _codes(picked: list[str], other: str | None) -> list[str]:
    """Picked codes, then the typed ones (comma or space separated, upper-cased), once each."""
    typed = [code.strip().upper() for code in re.split(r"[,\s;]+", other or "") if code.strip()]
    return list(dict.fromkeys([*picked, *typed]))


def progress_content(form: MultiDict, goal_ids: list[str]) -> dict:
    """A progress note's content from its form; goals are rated only when a rating is
    chosen (text without a rating is kept as "not addressed")."""
    rated = []
    for goal_id in goal_ids:
        rating = form.get(f"goal.{goal_id}.rating", "")
        text = form.get(f"goal.{goal_id}.text", "")
        if rating or text.strip():
            rated.append({"goal_id": goal_id, "rating": rating or "not_addressed", "text": text})
    return {
        "service_code": form.get("service_code") or None,
        "diagnoses": _codes(form.getlist("diagnoses"), form.get("diagnoses_other")),
        "presenting_concerns": form.get("presenting_concerns", ""),
        "mental_status": {
            name: {
                "pick": form.get(f"ms.{name}.pick") or None,
                "text": form.get(f"ms.{name}.text", ""),
            }
            for name in MENTAL_STATUS
        },
        "risk": {
            "suicidal_ideation": form.get("risk.suicidal_ideation") or "none",
            "homicidal_ideation": form.get("risk.homicidal_ideation") or "none",
            **{flag: form.get(f"risk.{flag}") == "yes" for flag in RISK_FLAGS},
            "protective_factors": form.get("risk.protective_factors", ""),
            "risk_level": form.get("risk.risk_level") or None,
            "notes": form.get("risk.notes", ""),
        },
        "interventions": form.getlist("interventions"),
        "interventions_text": form.get("interventions_text", ""),
        "goal_progress": rated,
        "plan": form.get("plan", ""),
    }


def plan_content(form: MultiDict) -> dict:
    """A plan's content from its form; a goal or objective left without words is dropped."""
    goals = []
    for index in sorted({int(m.group(1)) for key in form if (m := _GOAL.fullmatch(key))}):
        text = form.get(f"goal.{index}.text", "").strip()
        if not text:
            continue
        rows = sorted(
            {
                int(m.group(2))
                for key in form
                if (m := _OBJECTIVE.fullmatch(key)) and int(m.group(1)) == index
            }
        )
        objectives = [
            {
                "text": form.get(f"goal.{index}.obj.{row}.text", "").strip(),
                "target_date": form.get(f"goal.{index}.obj.{row}.date") or None,
            }
            for row in rows
            if form.get(f"goal.{index}.obj.{row}.text", "").strip()
        ]
        goals.append(
            {
                "id": form.get(f"goal.{index}.id") or None,
                "text": text,
                "script_ids": form.getlist(f"goal.{index}.scripts"),
                "objectives": objectives,
            }
        )
    return {
        "problems": _lines(form.get("problems")),
        "goals": goals,
        "interventions": _lines(form.get("interventions")),
        "session_frequency": form.get("session_frequency") or None,
        "notes": form.get("notes", ""),
    }


def form_version(form: MultiDict) -> int:
    """The version the form was opened at (-1, never current, when it is not a number)."""
    text = form.get("version", "")
    return int(text) if text.isdigit() else -1


def flat_errors(errors, prefix: str = "") -> list[tuple[str, str]]:
    """Nested field errors as (dotted path, message) pairs, for the error summary."""
    found: list[tuple[str, str]] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            found.extend(flat_errors(value, path))
    elif isinstance(errors, list | tuple):
        for item in errors:
            found.extend(
                flat_errors(item, prefix)
                if isinstance(item, dict | list)
                else [(prefix, str(item))]
            )
    else:
        found.append((prefix, str(errors)))
    return found


# The words a record form's error summary names a field with (else its key, spaced).
FIELD_WORDS = {
    "diagnoses": "diagnosis code",
    "goals": "goal",
    "goal_progress": "goal",
    "objectives": "objective",
    "problems": "problem",
    "interventions": "intervention",
    "planned_interventions": "planned intervention",
}


def field_words(path: str) -> str:
    """A field's path as words for the error summary: "diagnoses.1" → "Diagnosis code 2",
    "goals.0.objectives.1.target_date" → "Goal 1, objective 2, target date"."""
    words: list[str] = []
    for part in path.removeprefix("content.").split("."):
        if part.isdigit() and words:
            words[-1] = f"{words[-1]} {int(part) + 1}"
        elif part:
            words.append(FIELD_WORDS.get(part, part.replace("_", " ")))
    text = ", ".join(words)
    return text[:1].upper() + text[1:]


def sign_confirmation(row, what: str, blueprint: str, id_name: str, title: str):
    """The "sign for good?" page of a draft progress note or plan, at the version shown;
    a row no longer a draft goes back to its read view."""
    ids = {id_name: row.id}
    if row.status != "draft":
        return redirect(url_for(f"{blueprint}.view", **ids))
    return render_template(
        "record/sign.html",
        what=what,
        version=row.version,
        action=url_for(f"{blueprint}.sign", **ids),
        back=url_for(f"{blueprint}.edit", **ids),
        title=title,
    )
