"""What a progress note and a treatment plan may contain: quick-pick vocabularies, the
code formats and the content schemas (used by the API and the pages alike).

Codes: service codes are the practice's list (default: the psychotherapy CPT codes);
diagnosis codes are checked for the ICD-10-CM format only (no code set is bundled), and
the practice keeps its own list of them as quick picks.
"""

from __future__ import annotations

import json
import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from practice.notes.template import IdString

DEFAULT_SERVICE_CODES = ("90791", "90832", "90834", "90837", "90846", "90847", "90853")
SERVICE_CODE = re.compile(r"[0-9A-Z]{5}")
# ICD-10-CM: a letter, a digit, a digit or letter; then optionally a dot and 1-4 more.
ICD10CM = re.compile(r"[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?")
TEXT = 2_000
LONG = 20_000
MAX_CONTENT_CHARS = 200_000
MAX_DIAGNOSES = 12
MAX_GOALS = 20
MAX_OBJECTIVES = 10

MENTAL_STATUS = {
    "appearance": ("well_groomed", "casual", "dishevelled", "unusual"),
    "behaviour": ("cooperative", "guarded", "agitated", "withdrawn", "restless"),
    "speech": ("normal", "pressured", "slowed", "soft", "loud"),
    "mood": ("euthymic", "depressed", "anxious", "irritable", "elevated"),
    "affect": ("congruent", "restricted", "flat", "labile", "broad"),
    "thought_process": ("logical", "circumstantial", "tangential", "loose", "flight_of_ideas"),
    "thought_content": ("unremarkable", "preoccupied", "obsessional", "delusional"),
    "perception": ("no_disturbance", "hallucinations", "illusions", "depersonalisation"),
    "cognition": ("intact", "impaired_attention", "impaired_memory", "disoriented"),
    "insight": ("good", "fair", "poor"),
    "judgement": ("good", "fair", "poor"),
}
IDEATION = ("none", "passive", "active")
RISK_LEVELS = ("low", "moderate", "high", "imminent")
INTERVENTIONS = (
    "clarification",
    "confrontation",
    "interpretation",
    "exploration_of_transference",
    "supportive",
    "psychoeducation",
    "safety_planning",
)
GOAL_RATINGS = (
    "not_addressed",
    "worse",
    "no_change",
    "some_progress",
    "good_progress",
    "achieved",
)
SESSION_FREQUENCIES = ("twice_weekly", "weekly", "fortnightly", "monthly", "as_needed")


def vocabularies() -> dict:
    """Every quick-pick list of the clinical record, for pickers and the API."""
    return {
        "mental_status": {name: list(picks) for name, picks in MENTAL_STATUS.items()},
        "ideation": list(IDEATION),
        "risk_levels": list(RISK_LEVELS),
        "interventions": list(INTERVENTIONS),
        "goal_ratings": list(GOAL_RATINGS),
        "session_frequencies": list(SESSION_FREQUENCIES),
    }


def _text(limit: int = TEXT) -> fields.String:
    return fields.String(load_default="", validate=validate.Length(max=limit))


def _pick(choices) -> fields.String:
    return fields.String(load_default=None, allow_none=True, validate=validate.OneOf(choices))


def _flag() -> fields.Boolean:
    return fields.Boolean(load_default=False, truthy={True}, falsy={False})


def _bounded(data: dict, what: str) -> None:
    if len(json.dumps(data, ensure_ascii=False, default=str)) > MAX_CONTENT_CHARS:
        raise ValidationError(f"The {what} is too long (at most {MAX_CONTENT_CHARS} characters).")


def _distinct(values) -> None:
    if len(set(map(str, values))) != len(values):
        raise ValidationError("An entry is listed twice.")


def diagnosis_code(value: str) -> None:
    """An ICD-10-CM code in its written form (F41.1, F33.0, Z63.0)."""
    if not ICD10CM.fullmatch(value):
        raise ValidationError("Not an ICD-10-CM code (e.g. F41.1).")


def service_code(value: str) -> None:
    """A five-character procedure code (CPT 90834, or a practice's own)."""
    if not SERVICE_CODE.fullmatch(value):
        raise ValidationError("A service code is five digits or capital letters (e.g. 90834).")


def iso_date(value: str) -> None:
    """A calendar date written YYYY-MM-DD, between the years 1900 and 2999."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError("Not a date (YYYY-MM-DD).") from None
    if len(value) != 10 or not 1900 <= day.year <= 2999:
        raise ValidationError("Not a date (YYYY-MM-DD).")


class FindingSchema(Schema):
    """One mental status domain: a quick pick and words."""

    pick = fields.String(load_default=None, allow_none=True)
    text = _text()


def _mental_status_schema() -> type[Schema]:
    def checked(name: str, picks: tuple[str, ...]):
        class Finding(FindingSchema):
            pick = _pick(picks)

        Finding.__name__ = "".join(part.title() for part in name.split("_")) + "FindingSchema"
        return fields.Nested(Finding, load_default=dict)

    fields_ = {name: checked(name, picks) for name, picks in MENTAL_STATUS.items()}
    return Schema.from_dict(fields_, name="MentalStatusSchema")


MentalStatusSchema = _mental_status_schema()


class RiskSchema(Schema):
    """Suicidal and homicidal ideation, plan, intent, means, protection, level."""

    suicidal_ideation = fields.String(load_default="none", validate=validate.OneOf(IDEATION))
    homicidal_ideation = fields.String(load_default="none", validate=validate.OneOf(IDEATION))
    plan = _flag()
    intent = _flag()
    means = _flag()
    protective_factors = _text()
    risk_level = _pick(RISK_LEVELS)
    safety_plan = _flag()
    notes = _text()


class GoalProgressSchema(Schema):
    goal_id = IdString(required=True)
    rating = fields.String(required=True, validate=validate.OneOf(GOAL_RATINGS))
    text = _text()


class ProgressContentSchema(Schema):
    """A progress note's sealed content."""

    service_code = fields.String(load_default=None, allow_none=True, validate=service_code)
    diagnoses = fields.List(
        fields.String(validate=diagnosis_code),
        load_default=list,
        validate=[validate.Length(max=MAX_DIAGNOSES), _distinct],
    )
    presenting_concerns = _text(LONG)
    mental_status = fields.Nested(MentalStatusSchema, load_default=dict)
    risk = fields.Nested(RiskSchema, load_default=dict)
    interventions = fields.List(
        fields.String(validate=validate.OneOf(INTERVENTIONS)),
        load_default=list,
        validate=_distinct,
    )
    interventions_text = _text()
    goal_progress = fields.List(
        fields.Nested(GoalProgressSchema),
        load_default=list,
        validate=validate.Length(max=MAX_GOALS),
    )
    plan = _text(LONG)

    @validates_schema
    def _checked(self, data, **_kwargs):
        _bounded(data, "note")
        goals = [item["goal_id"] for item in data.get("goal_progress", [])]
        if len(set(goals)) != len(goals):
            raise ValidationError("A goal is rated twice.", "goal_progress")


class ObjectiveSchema(Schema):
    """A measurable objective and when it should be met."""

    text = fields.String(required=True, validate=validate.Length(min=1, max=TEXT))
    target_date = fields.String(
        load_default=None, allow_none=True, validate=iso_date, metadata={"format": "date"}
    )


class GoalSchema(Schema):
    """A goal; it may name scripts of the client ("notice the script as it happens")."""

    id = IdString(load_default=None, allow_none=True)
    text = fields.String(required=True, validate=validate.Length(min=1, max=TEXT))
    script_ids = fields.List(IdString(), load_default=list, validate=_distinct)
    objectives = fields.List(
        fields.Nested(ObjectiveSchema),
        load_default=list,
        validate=validate.Length(max=MAX_OBJECTIVES),
    )


class PlanContentSchema(Schema):
    """A treatment plan's sealed content."""

    problems = fields.List(
        fields.String(validate=validate.Length(min=1, max=TEXT)),
        load_default=list,
        validate=validate.Length(max=MAX_GOALS),
    )
    goals = fields.List(
        fields.Nested(GoalSchema), load_default=list, validate=validate.Length(max=MAX_GOALS)
    )
    interventions = fields.List(
        fields.String(validate=validate.Length(min=1, max=TEXT)),
        load_default=list,
        validate=validate.Length(max=MAX_GOALS),
    )
    session_frequency = _pick(SESSION_FREQUENCIES)
    notes = _text(LONG)

    @validates_schema
    def _checked(self, data, **_kwargs):
        _bounded(data, "plan")


def _iso(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def plain(content):
    """`content` as JSON-ready data (ids as strings, dates and times in ISO 8601)."""
    return json.loads(json.dumps(content, default=_iso))
