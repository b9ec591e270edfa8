"""The note template v1, the figure and script payloads, and the vocabularies file."""

import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate

from practice.notes import template

pytestmark = pytest.mark.pure  # plain values in, plain values out: no database

FULL = {
    "scripts_active": [str(uuid.uuid4())],
    "relationship_episodes": [
        {
            "figure_id": str(uuid.uuid4()),
            "when": "childhood",
            "wish": "to be admired",
            "response_of_other": "criticises",
            "response_of_self": "withdraws",
            "wish_tag": "to be recognised",
            "ro_valence": "negative",
            "rs_valence": "negative",
            "script_id": str(uuid.uuid4()),
            "fit": "clear",
        }
    ],
    "transference": {
        "present": True,
        "therapist_experienced_as": "a strict examiner",
        "valence": "mixed",
        "intensity": 3,
        "handling": "interpreted",
        "text": "expected me to mark her down",
    },
    "countertransference": {
        "reactions": ["criticized", "parental"],
        "intensity": 2,
        "source": "induced",
        "urge_to_act": "to reassure",
        "used_in_session": True,
        "text": "felt pulled to grade her",
    },
    "enactments": [
        {
            "summary": "I corrected her date",
            "initiated_by": "co_created",
            "recognised": "later_in_session",
            "processed": "partly",
        }
    ],
    "ruptures": [
        {
            "type": "withdrawal",
            "markers": ["long silence"],
            "intensity": 2,
            "therapist_contribution": 1,
            "repair": ["acknowledged_own_part", "linked_to_pattern"],
            "resolution": "partial",
        }
    ],
    "defenses": {
        "observed": ["intellectualization", "devaluation_of_self"],
        "predominant_level": 4,
    },
    "ipt_focus": "role_transition",
    "narrative": {"summary": "s", "interventions": "i", "client_response": "r", "plan": "p"},
}


def errors_of(raw) -> dict:
    with pytest.raises(ValidationError) as info:
        template.clean_content(raw)
    return info.value.messages


def test_full_note_round_trips_unchanged():
    assert template.clean_content(FULL) == FULL


def test_empty_note_is_valid_and_nulls_are_dropped():
    assert template.clean_content({}) == {}
    assert template.clean_content({"transference": {"present": None, "text": "t"}}) == {
        "transference": {"text": "t"}
    }


def test_vocabularies_are_one_data_file_with_clinical_lists():
    path = Path(template.__file__).parent.parent / "data" / "vocabularies.json"
    data = json.loads(path.read_text())
    assert data["countertransference_reactions"]["items"][:8] == [
        "overwhelmed",
        "helpless",
        "positive",
        "special",
        "sexualized",
        "disengaged",
        "parental",
        "criticized",
    ]
    levels = template.dmrs_defenses()
    assert levels["humor"] == 7 and levels["projective_identification"] == 2
    assert levels["acting_out"] == 1 and levels["isolation_of_affect"] == 6
    assert "overall defensive functioning" not in path.read_text().lower()


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"mood": "low"}, ("mood",)),
        ({"transference": {"present": True, "colour": "red"}}, ("transference", "colour")),
        ({"relationship_episodes": [{"when": "yesterday"}]}, ("relationship_episodes", 0, "when")),
        (
            {"relationship_episodes": [{"figure_id": "mum"}]},
            ("relationship_episodes", 0, "figure_id"),
        ),
        ({"transference": {"intensity": 4}}, ("transference", "intensity")),
        ({"transference": {"intensity": -1}}, ("transference", "intensity")),
        ({"transference": {"intensity": "2"}}, ("transference", "intensity")),
        ({"transference": {"intensity": 1.5}}, ("transference", "intensity")),
        ({"transference": {"present": "yes"}}, ("transference", "present")),
        ({"countertransference": {"reactions": ["bored"]}}, ("countertransference", "reactions")),
        (
            {"countertransference": {"reactions": ["helpless", "helpless"]}},
            ("countertransference", "reactions"),
        ),
        ({"ruptures": [{"intensity": 0}]}, ("ruptures", 0, "intensity")),
        ({"ruptures": [{"repair": ["apologised"]}]}, ("ruptures", 0, "repair")),
        ({"defenses": {"observed": ["sarcasm"]}}, ("defenses", "observed")),
        ({"defenses": {"predominant_level": 8}}, ("defenses", "predominant_level")),
        ({"ipt_focus": "grief; DROP TABLE notes"}, ("ipt_focus",)),
        ({"narrative": {"summary": "x" * 20_001}}, ("narrative", "summary")),
        ({"relationship_episodes": [{"wish": "x" * 2_001}]}, ("relationship_episodes", 0, "wish")),
        ({"relationship_episodes": [{}] * 51}, ("relationship_episodes",)),
        ({"narrative": "just text"}, ("narrative",)),
        ({"scripts_active": "all"}, ("scripts_active",)),
    ],
)
def test_bad_content_gets_field_level_errors(raw, path):
    node = errors_of(raw)
    for key in path:
        node = node[key]
    assert node


def leaves(schema: Schema, path: tuple = ()):
    """(path, field) of every value field of `schema`, nested schemas included; a list's
    items are reached at index 0."""
    for name, field in schema.fields.items():
        yield from _leaves_of(field, (*path, name))


def _leaves_of(field: fields.Field, path: tuple):
    if isinstance(field, fields.Nested):
        yield from leaves(field.schema, path)
    elif isinstance(field, fields.List):
        yield from _leaves_of(field.inner, (*path, 0))
    else:
        yield path, field


def at(path: tuple, value):
    """Content holding only `value` at `path` (an index step is a one-item list)."""
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def error_at(messages: dict, path: tuple) -> list:
    """The messages at `path`, asserting it is the only error on the way there."""
    node = messages
    for step in path:
        assert list(node) == [step], (path, messages)
        node = node[step]
    assert node and all(isinstance(message, str) for message in node), messages
    return node


ENUM_FIELDS = {
    path: next(v.choices for v in field.validators if isinstance(v, validate.OneOf))
    for path, field in leaves(template.CONTENT_SCHEMA)
    if any(isinstance(v, validate.OneOf) for v in field.validators)
}


def test_every_enum_of_the_template_is_found():
    """The walk below covers every fixed list of CLINICAL.md (a superset: a new enum field
    is picked up by the walk itself)."""
    assert set(ENUM_FIELDS) >= {
        ("relationship_episodes", 0, "when"),
        ("relationship_episodes", 0, "ro_valence"),
        ("relationship_episodes", 0, "rs_valence"),
        ("relationship_episodes", 0, "fit"),
        ("transference", "valence"),
        ("transference", "handling"),
        ("countertransference", "reactions", 0),
        ("countertransference", "source"),
        ("enactments", 0, "initiated_by"),
        ("enactments", 0, "recognised"),
        ("enactments", 0, "processed"),
        ("ruptures", 0, "type"),
        ("ruptures", 0, "repair", 0),
        ("ruptures", 0, "resolution"),
        ("defenses", "observed", 0),
        ("ipt_focus",),
    }


@pytest.mark.parametrize(
    ("path", "choices"),
    list(ENUM_FIELDS.items()),
    ids=["/".join(map(str, path)) for path in ENUM_FIELDS],
)
def test_every_enum_refuses_a_value_off_its_list_at_its_field(path, choices):
    bad = "not_on_the_list"
    assert bad not in choices
    error_at(errors_of(at(path, bad)), path)
    error_at(errors_of(at(path, choices[0].upper())), path)  # no case folding
    for choice in choices:
        assert template.clean_content(at(path, choice)) == at(path, choice)


# Standard CCRT tag fields and the kind of list (`ccrt_tags`) each is checked against.
TAG_KINDS = {"wish_tag": "wish", "ro_tag": "response_of_other", "rs_tag": "response_of_self"}
TAGGED = [
    (loader, path)
    for loader, schema in (
        (template.clean_content, template.CONTENT_SCHEMA),
        (lambda raw: template.SCRIPT_PAYLOAD.load({"name": "n", **raw}), template.SCRIPT_PAYLOAD),
    )
    for path, field in leaves(schema)
    if any(getattr(v, "__name__", "") == "in_list" for v in field.validators)
]


def test_tag_fields_are_the_three_ccrt_components():
    assert {path[-1] for _load, path in TAGGED} == set(TAG_KINDS)
    assert {path for _load, path in TAGGED} == {
        ("relationship_episodes", 0, "wish_tag"),
        ("relationship_episodes", 0, "ro_tag"),
        ("relationship_episodes", 0, "rs_tag"),
        ("wish_tag",),
        ("ro_tag",),
        ("rs_tag",),
    }


def tag_errors(load, raw) -> dict | None:
    try:
        load(raw)
    except ValidationError as exc:
        return exc.messages
    return None


@pytest.mark.parametrize(
    ("load", "path"), TAGGED, ids=["/".join(map(str, path)) for _load, path in TAGGED]
)
def test_a_practice_tag_list_refuses_other_tags(monkeypatch, load, path):
    kind = TAG_KINDS[path[-1]]
    monkeypatch.setitem(template.vocabularies()["ccrt_tags"], kind, ["to be recognised"])
    assert tag_errors(load, at(path, "to be recognised")) is None
    error_at(tag_errors(load, at(path, "to be loved")), path)
    error_at(tag_errors(load, at(path, "To be recognised")), path)
    for other in set(TAG_KINDS.values()) - {kind}:  # each kind has its own list
        monkeypatch.setitem(template.vocabularies()["ccrt_tags"], other, ["to be loved"])
    error_at(tag_errors(load, at(path, "to be loved")), path)


@pytest.mark.parametrize(
    ("load", "path"), TAGGED, ids=["/".join(map(str, path)) for _load, path in TAGGED]
)
def test_without_a_practice_tag_list_any_tag_up_to_the_limit_passes(monkeypatch, load, path):
    monkeypatch.setitem(template.vocabularies()["ccrt_tags"], TAG_KINDS[path[-1]], [])
    for tag in ("to be loved", "ü" * template.TAG):
        assert tag_errors(load, at(path, tag)) is None
    for tag in ("", "x" * (template.TAG + 1)):
        error_at(tag_errors(load, at(path, tag)), path)


def test_total_size_is_bounded():
    episodes = [{"wish": "w" * 2000, "response_of_other": "o" * 2000} for _ in range(50)]
    assert "_schema" in errors_of({"relationship_episodes": episodes})


def test_reference_errors_name_the_field():
    mine_f, mine_s, other = uuid.uuid4(), uuid.uuid4(), str(uuid.uuid4())
    content = {
        "scripts_active": [str(mine_s), other],
        "relationship_episodes": [{"figure_id": str(mine_f)}, {"figure_id": other}],
        "transference": {"therapist_experienced_as": other, "script_id": other},
        "enactments": [{"script_id": other}],
        "ruptures": [{"script_id": str(mine_s)}],
    }
    errors = template.reference_errors(content, {mine_f}, {mine_s})
    assert set(errors["scripts_active"]) == {1}
    assert set(errors["relationship_episodes"]) == {1}
    assert "figure_id" in errors["relationship_episodes"][1]
    assert set(errors["transference"]) == {"therapist_experienced_as", "script_id"}
    assert 0 in errors["enactments"] and "ruptures" not in errors


def test_free_text_experienced_as_is_not_a_reference():
    content = {"transference": {"therapist_experienced_as": "her older brother"}}
    assert template.reference_errors(content, set(), set()) == {}


def test_script_and_figure_payloads():
    assert template.FIGURE_PAYLOAD.load({"label": "Sam", "role": "partner"}) == {
        "label": "Sam",
        "role": "partner",
        "period": "current",
    }
    with pytest.raises(ValidationError) as info:
        template.FIGURE_PAYLOAD.load({"label": "", "role": "neighbour", "period": "future"})
    assert set(info.value.messages) == {"label", "role", "period"}
    script = {"name": "sets others up to criticise", "cmp": {"acts_of_self": "hides work"}}
    assert template.SCRIPT_PAYLOAD.load(script) == script
    with pytest.raises(ValidationError) as info:
        template.SCRIPT_PAYLOAD.load({"wish": "w", "cmp": {"x": 1}})
    assert set(info.value.messages) == {"name", "cmp"}


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.integers() | st.text(max_size=20), max_size=4))
def test_arbitrary_top_level_keys_never_pass_silently(raw):
    try:
        cleaned = template.clean_content(raw)
    except ValidationError as exc:
        assert isinstance(exc.messages, dict)
        return
    assert set(cleaned) <= set(template.NoteContentSchema._declared_fields)
