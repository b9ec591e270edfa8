"""Instrument definition files: the shipped ones pass, a practice's file is added, and
each broken rule stops start-up with one line naming the file and the field."""

from __future__ import annotations

import copy
import json

import pytest

from practice import create_app
from practice.measures.definitions import SHIPPED, DefinitionError, load_instruments
from tests.conftest import TEST_SECRET_KEY

GAD7 = json.loads((SHIPPED / "gad7.json").read_text())


def practice_file(**changes) -> dict:
    """A practice's own instrument: GAD-7's shape under another id, with `changes`."""
    data = copy.deepcopy(GAD7)
    data.update(id="worry4", name="Worry-4", title="A practice's worry scale")
    data["items"] = data["items"][:4]
    data["scoring"]["range"] = [0, 12]
    data["bands"]["values"] = [
        {"min": 0, "max": 5, "label": "Lower"},
        {"min": 6, "max": 12, "label": "Higher"},
    ]
    data["caseness"]["at_least"] = 6
    data["missing"]["max_missing"] = 1
    for path, value in changes.items():
        target = data
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
    return data


DELETE = object()


def write(folder, data, name="worry4.json"):
    (folder / name).write_text(data if isinstance(data, str) else json.dumps(data))
    return folder


def test_the_shipped_definitions_load_and_cite_every_number():
    found = load_instruments()
    assert {"phq9", "gad7"} <= set(found)
    for name in ("phq9.json", "gad7.json"):
        raw = json.loads((SHIPPED / name).read_text())
        for block in ("options", "scoring", "missing", "bands", "reliable_change", "caseness"):
            assert raw[block]["source"] in raw["sources"], (name, block)
        for risk in raw["risk_items"]:
            assert risk["source"] in raw["sources"]


def test_a_practice_adds_an_instrument_from_its_folder(tmp_path):
    found = load_instruments(write(tmp_path, practice_file()))
    worry = found["worry4"]
    assert worry.item_ids == ("1", "2", "3", "4") and worry.max_missing == 1
    assert worry.band(5) == "Lower" and worry.band(6) == "Higher"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"items": DELETE}, "items: is missing"),
        ({"items": []}, "items: needs 1 to"),
        ({"items.1.id": "1"}, "items: repeats an item id"),
        ({"bands.values.1.min": 7}, "bands.values[1]: must start at 6"),
        ({"bands.values.1.max": 11}, "bands.values: must cover 0 to 12"),
        ({"bands.source": "nobody2020"}, "bands.source: 'nobody2020' is not a key of `sources`"),
        ({"reliable_change.source": DELETE}, "reliable_change.source: is missing"),
        ({"reliable_change.value": 0}, "reliable_change.value: must be above 0"),
        ({"reliable_change.value": "4"}, "reliable_change.value: must be a whole number"),
        ({"caseness.at_least": 13}, "caseness.at_least: must lie within the score range"),
        ({"scoring.range": [0, 21]}, "scoring.range: is not the sum"),
        ({"scoring.method": "mean"}, "scoring.method: must be \"sum\""),
        ({"missing.max_missing": 4}, "missing.max_missing: must be at least 0"),
        ({"options.values.1.value": 0}, "options.values: repeats a value"),
        ({"risk_items": [{"item": "9", "above": 0, "message": "x", "source": "gyani2013"}]},
         "risk_items[0].item: '9' is not an item id"),
        ({"id": "Worry 4"}, "id: must be 1-32 lower-case"),
        ({"format": 2}, "format: must be 1"),
        ({"colour": "blue"}, "colour: is not a field of a definition"),
    ],
)  # fmt: skip
def test_each_broken_rule_names_the_file_and_field(tmp_path, changes, field):
    with pytest.raises(DefinitionError) as failed:
        load_instruments(write(tmp_path, practice_file(**changes)))
    message = str(failed.value)
    assert message.startswith("worry4.json: ") and field in message, message
    assert "\n" not in message


def test_not_json_a_second_phq9_and_a_missing_folder(tmp_path):
    with pytest.raises(DefinitionError, match=r"^broken\.json: \(file\): not JSON \(line 1\)$"):
        load_instruments(write(tmp_path, "{", name="broken.json"))
    (tmp_path / "broken.json").unlink()
    again = json.loads((SHIPPED / "phq9.json").read_text())
    with pytest.raises(DefinitionError, match=r"^phq9-copy\.json: id: 'phq9' is defined twice$"):
        load_instruments(write(tmp_path, again, name="phq9-copy.json"))
    with pytest.raises(DefinitionError, match="is not a folder"):
        load_instruments(tmp_path / "nowhere")


def test_a_bad_file_stops_start_up_in_one_line(tmp_path, keyring_path, capsys):
    write(tmp_path, practice_file(**{"bands.values.1.min": 7}))
    config = {
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "SECRET_KEY": TEST_SECRET_KEY,
        "PRACTICE_KEYRING": str(keyring_path),
        "PRACTICE_MEASURES_DIR": str(tmp_path),
    }
    with pytest.raises(SystemExit) as stopped:
        create_app("testing", config)
    message = str(stopped.value.code)
    assert message.startswith("practice: cannot start: measure definition worry4.json: ")
    assert "bands.values[1]" in message and "\n" not in message


def test_flask_measures_check(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["measures", "check"])
    assert result.exit_code == 0, result.output
    assert "phq9: PHQ-9 v1, 9 items, 5 bands, reliable change 6, caseness 10" in result.output
    assert "gad7: GAD-7 v1, 7 items, 4 bands, reliable change 4, caseness 8" in result.output
    write(tmp_path, practice_file(**{"caseness.at_least": 13}))
    result = runner.invoke(args=["measures", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "worry4.json: caseness.at_least: must lie within the score range" in result.output
