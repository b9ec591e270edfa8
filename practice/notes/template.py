"""The process-note template (CLINICAL.md, template_version 1), the figure and script
payloads, and the quick-pick vocabularies they use (practice/data/vocabularies.json).

Everything here is pure validation: no database, no keys. The service checks that the
figure and script ids a note names belong to the same client (`reference_errors`).
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from importlib import resources
from pathlib import Path

from flask import current_app, has_app_context
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

TEMPLATE_VERSION = 1
SHORT_TEXT = 2_000  # one component of an episode or script
LONG_TEXT = 20_000  # narrative and free-text reflections
TAG = 100
MAX_ITEMS = 50
MAX_CONTENT_CHARS = 200_000  # the whole note, serialised


@cache
def vocabularies() -> dict:
    """The shipped vocabularies (one JSON data file)."""
    text = resources.files("practice").joinpath("data/vocabularies.json").read_text("utf-8")
    return json.loads(text)


CCRT_KINDS = ("wish", "response_of_other", "response_of_self")
MAX_TAGS = 500


def ccrt_tags() -> dict[str, list[str]]:
    """The standard CCRT tag lists in force: the practice's file (PRACTICE_CCRT_TAGS,
    loaded when the app starts) or else the shipped lists, which are empty (tags off)."""
    if has_app_context():
        supplied = current_app.extensions.get("ccrt_tags")
        if supplied is not None:
            return supplied
    shipped = vocabularies()["ccrt_tags"]
    return {kind: shipped.get(kind) or [] for kind in CCRT_KINDS}


def load_ccrt_tags(path: str) -> dict[str, list[str]]:
    """Read and check a practice's tag file: {"wish": [...], "response_of_other": [...],
    "response_of_self": [...]}, each a list of distinct tags of 1-100 characters (a
    missing kind: no list, any tag). ValueError names what is wrong."""
    try:
        data = json.loads(Path(path).read_text("utf-8"), object_pairs_hook=_no_repeats)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise ValueError("the file must hold a JSON object")
    unknown = sorted(set(data) - {*CCRT_KINDS, "about"})
    if unknown:
        raise ValueError(f"unknown keys {unknown}; use {list(CCRT_KINDS)}")
    tags = {}
    for kind in CCRT_KINDS:
        values = data.get(kind, [])
        if not isinstance(values, list) or len(values) > MAX_TAGS:
            raise ValueError(f"{kind} must be a list of at most {MAX_TAGS} tags")
        if not all(isinstance(v, str) and 0 < len(v) <= TAG and v == v.strip() for v in values):
            raise ValueError(
                f"every {kind} tag must be text of 1-{TAG} characters, without surrounding spaces"
            )
        if len(set(values)) != len(values):
            raise ValueError(f"{kind} lists a tag twice")
        tags[kind] = values
    return tags


def _no_repeats(pairs: list[tuple]) -> dict:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice in the file")
    return dict(pairs)


def _vocab(name: str) -> list[str]:
    value = vocabularies()[name]
    return value["items"] if isinstance(value, dict) else value


def dmrs_defenses() -> dict[str, int]:
    """Every DMRS defense name with its level (1 action … 7 high-adaptive)."""
    levels = vocabularies()["defenses"]["levels"]
    return {name: int(level) for level, item in levels.items() for name in item["defenses"]}


def words_for_pages() -> dict:
    """The words a page needs to show (or edit) a process note's content: every
    vocabulary, the countertransference reactions, the defense levels highest first, the
    CCRT tags and the defense names. The editor and the author's own copy use it."""
    words = vocabularies()
    levels = words["defenses"]["levels"]
    return {
        "v": words,
        "reactions": words["countertransference_reactions"]["items"],
        "defense_levels": sorted(levels.items(), key=lambda item: -int(item[0])),
        "tags": ccrt_tags(),
        "defense_names": dmrs_defenses(),
    }


def _one_of(name: str) -> validate.OneOf:
    return validate.OneOf(_vocab(name))


def _text(limit: int = SHORT_TEXT, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=limit), allow_none=True, **kwargs)


def _choice(name: str, **kwargs) -> fields.String:
    return fields.String(validate=_one_of(name), allow_none=True, **kwargs)


def _int(low: int, high: int) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=low, max=high), allow_none=True)


def _bool() -> fields.Boolean:
    return fields.Boolean(truthy={True}, falsy={False}, allow_none=True)


class IdString(fields.UUID):
    """A UUID, validated on load and kept as its canonical string (JSON-ready)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return str(super()._deserialize(value, attr, data, **kwargs))


def _id() -> fields.UUID:
    return IdString(allow_none=True)


def _unique_list(inner: fields.Field, limit: int = MAX_ITEMS) -> fields.List:
    def no_duplicates(values):
        if len(set(map(str, values))) != len(values):
            raise ValidationError("An entry is listed twice.")

    return fields.List(inner, validate=[validate.Length(max=limit), no_duplicates], allow_none=True)


def _tag(kind: str) -> fields.String:
    """A CCRT standard tag: checked against the practice's list when it supplies one."""

    def in_list(value):
        allowed = ccrt_tags().get(kind) or []
        if allowed and value not in allowed:
            raise ValidationError("Not one of the practice's standard tags.")

    return fields.String(validate=[validate.Length(min=1, max=TAG), in_list], allow_none=True)


class _Clean(Schema):
    """Drops keys sent as null, so stored content only holds what was filled in
    (a partial update sets `keep_none`: there null means "clear this")."""

    keep_none = False

    @post_load
    def drop_none(self, data, **_kwargs):
        if self.keep_none:
            return data
        return {key: value for key, value in data.items() if value is not None}


class EpisodeSchema(_Clean):
    figure_id = _id()
    when = _choice("episode_when")
    wish = _text()
    response_of_other = _text()
    response_of_self = _text()
    wish_tag = _tag("wish")
    ro_tag = _tag("response_of_other")
    rs_tag = _tag("response_of_self")
    ro_valence = _choice("valences")
    rs_valence = _choice("valences")
    script_id = _id()
    fit = _choice("episode_fit")


class TransferenceSchema(_Clean):
    present = _bool()
    # A figure id of this client, or free text ("a disappointed teacher").
    therapist_experienced_as = _text(200)
    valence = _choice("transference_valences")
    intensity = _int(0, 3)
    handling = _choice("transference_handling")
    script_id = _id()
    text = _text(LONG_TEXT)


class CountertransferenceSchema(_Clean):
    reactions = _unique_list(fields.String(validate=_one_of("countertransference_reactions")))
    intensity = _int(0, 3)
    source = _choice("countertransference_sources")
    urge_to_act = _text()
    used_in_session = _bool()
    text = _text(LONG_TEXT)


class EnactmentSchema(_Clean):
    summary = _text()
    initiated_by = _choice("enactment_initiated_by")
    recognised = _choice("enactment_recognised")
    processed = _choice("enactment_processed")
    script_id = _id()


class RuptureSchema(_Clean):
    type = _choice("rupture_types")
    markers = _unique_list(fields.String(validate=validate.Length(min=1, max=TAG)), 20)
    intensity = _int(1, 5)
    therapist_contribution = _int(0, 3)
    repair = _unique_list(fields.String(validate=_one_of("rupture_repairs")))
    resolution = _choice("rupture_resolutions")
    script_id = _id()


class DefensesSchema(_Clean):
    """A checklist of defenses observed in this session (not a DMRS score)."""

    observed = _unique_list(
        fields.String(validate=validate.OneOf(sorted(dmrs_defenses()))), limit=40
    )
    predominant_level = _int(1, 7)


class NarrativeSchema(_Clean):
    summary = _text(LONG_TEXT)
    interventions = _text(LONG_TEXT)
    client_response = _text(LONG_TEXT)
    plan = _text(LONG_TEXT)


def _nested(schema: type[Schema]) -> fields.Nested:
    return fields.Nested(schema, allow_none=True)


def _nested_list(schema: type[Schema], limit: int = MAX_ITEMS) -> fields.List:
    return fields.List(fields.Nested(schema), validate=validate.Length(max=limit), allow_none=True)


class NoteContentSchema(_Clean):
    """Template v1 without session_date / appointment_id (top-level fields of the note)."""

    scripts_active = _unique_list(IdString())
    relationship_episodes = _nested_list(EpisodeSchema)
    transference = _nested(TransferenceSchema)
    countertransference = _nested(CountertransferenceSchema)
    enactments = _nested_list(EnactmentSchema, 20)
    ruptures = _nested_list(RuptureSchema, 20)
    defenses = _nested(DefensesSchema)
    ipt_focus = _choice("ipt_focus")
    narrative = _nested(NarrativeSchema)

    @validates_schema
    def bounded(self, data, **_kwargs):
        size = len(json.dumps(data, ensure_ascii=False, default=str))
        if size > MAX_CONTENT_CHARS:
            raise ValidationError(f"The note is too long (at most {MAX_CONTENT_CHARS} characters).")


CONTENT_SCHEMA = NoteContentSchema()


def clean_content(raw: dict) -> dict:
    """Validate template-v1 content; return it as canonical JSON-ready data.

    Raises marshmallow.ValidationError with field-level messages.
    """
    return CONTENT_SCHEMA.load(raw)


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None


def reference_errors(content: dict, figure_ids: set, script_ids: set) -> dict:
    """Field-level errors for figure / script ids that are not this client's."""
    errors: dict = {}
    unknown_figure = ["No such figure for this client."]
    unknown_script = ["No such script for this client."]

    def check(path: tuple, value, allowed: set, message: list) -> None:
        if value is None or _as_uuid(value) in allowed:
            return
        node = errors
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = message

    for i, script_id in enumerate(content.get("scripts_active", [])):
        check(("scripts_active", i), script_id, script_ids, unknown_script)
    for i, episode in enumerate(content.get("relationship_episodes", [])):
        check(
            ("relationship_episodes", i, "figure_id"),
            episode.get("figure_id"),
            figure_ids,
            unknown_figure,
        )
        check(
            ("relationship_episodes", i, "script_id"),
            episode.get("script_id"),
            script_ids,
            unknown_script,
        )
    transference = content.get("transference", {})
    experienced_as = transference.get("therapist_experienced_as")
    if _as_uuid(experienced_as) is not None:
        check(
            ("transference", "therapist_experienced_as"), experienced_as, figure_ids, unknown_figure
        )
    check(("transference", "script_id"), transference.get("script_id"), script_ids, unknown_script)
    for key in ("enactments", "ruptures"):
        for i, item in enumerate(content.get(key, [])):
            check((key, i, "script_id"), item.get("script_id"), script_ids, unknown_script)
    return errors


class CmpSchema(_Clean):
    """Cyclical Maladaptive Pattern view of a script (Strupp & Binder)."""

    acts_of_self = _text()
    expectations_of_others = _text()
    acts_of_others_toward_self = _text()
    acts_of_self_toward_self = _text()


class ScriptPayloadSchema(_Clean):
    """What a script says, encrypted as one JSON value (`Script.payload`)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    wish = _text()
    response_of_other = _text()
    response_of_self = _text()
    origin = _text()
    wish_tag = _tag("wish")
    ro_tag = _tag("response_of_other")
    rs_tag = _tag("response_of_self")
    cmp = _nested(CmpSchema)


class FigurePayloadSchema(Schema):
    """Who a figure is, encrypted as one JSON value (`Figure.payload`)."""

    label = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=_one_of("figure_roles"))
    period = fields.String(load_default="current", validate=_one_of("figure_periods"))


SCRIPT_PAYLOAD = ScriptPayloadSchema()
FIGURE_PAYLOAD = FigurePayloadSchema()
SCRIPT_PAYLOAD_KEYS = tuple(ScriptPayloadSchema._declared_fields)
