"""Instrument definitions: outcome measures described as data, checked once at start-up.

The shipped definitions are practice/measures/data/*.json (PHQ-9, GAD-7); a practice adds
an instrument it holds the rights to as one more JSON file in PRACTICE_MEASURES_DIR.
Every number in a definition (response values, score range, bands, reliable change,
caseness, risk thresholds) sits in a block that names its `source`, a key of the file's
`sources`, so a reader can see where it comes from. A file that breaks a rule stops
start-up with one line naming the file and the field (DefinitionError).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

SHIPPED = Path(__file__).parent / "data"
FORMAT = 1
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
TOP_KEYS = {
    "format", "id", "name", "title", "version", "rights", "sources", "instructions",
    "options", "items", "scoring", "missing", "bands", "reliable_change", "caseness",
    "risk_items",
}  # fmt: skip
MAX_ITEMS = 200


class DefinitionError(ValueError):
    """A definition file breaks a rule; the message is one line: file, field, problem."""


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    label: str


@dataclass(frozen=True)
class RiskItem:
    item: str
    above: int
    message: str


@dataclass(frozen=True)
class Instrument:
    """One instrument, ready to score: items, response values, bands and thresholds."""

    id: str
    name: str
    title: str
    version: int
    rights: str
    instructions: str
    options: tuple[tuple[int, str], ...]
    items: tuple[tuple[str, str], ...]
    low: int
    high: int
    higher_is_worse: bool
    max_missing: int
    missing_why: str
    bands: tuple[Band, ...]
    reliable_change: int
    caseness: int | None
    risk_items: tuple[RiskItem, ...]
    sources: dict

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item_id for item_id, _ in self.items)

    @property
    def values(self) -> frozenset[int]:
        return frozenset(value for value, _ in self.options)

    def band(self, score: int) -> str:
        """The label of the band `score` falls in."""
        for band in self.bands:
            if band.low <= score <= band.high:
                return band.label
        raise ValueError("score outside the instrument's range")

    def summary(self) -> dict:
        """What a report names of the instrument beside its scores."""
        return {
            "instrument": self.id,
            "name": self.name,
            "range": [self.low, self.high],
            "higher_is": "worse" if self.higher_is_worse else "better",
            "reliable_change": self.reliable_change,
            "caseness": self.caseness,
        }

    def describe(self) -> dict:
        """The definition as the API and the pages show it (plain data)."""
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "version": self.version,
            "rights": self.rights,
            "instructions": self.instructions,
            "options": [{"value": v, "label": label} for v, label in self.options],
            "items": [{"id": i, "text": text} for i, text in self.items],
            "range": [self.low, self.high],
            "higher_is": "worse" if self.higher_is_worse else "better",
            "max_missing": self.max_missing,
            "missing_rule": self.missing_why,
            "bands": [{"min": b.low, "max": b.high, "label": b.label} for b in self.bands],
            "reliable_change": self.reliable_change,
            "caseness": self.caseness,
            "risk_items": [{"item": r.item, "above": r.above} for r in self.risk_items],
            "sources": dict(self.sources),
        }


class _Reader:
    """Reads one file's JSON, failing with `file: field: problem`."""

    def __init__(self, path: Path, raw):
        self.name = path.name
        self.raw = raw

    def fail(self, field: str, problem: str):
        raise DefinitionError(f"{self.name}: {field}: {problem}")

    def get(self, data, key: str, field: str, kind, *, required: bool = True):
        if not isinstance(data, dict):
            self.fail(field.rsplit(".", 1)[0] or field, "must be an object")
        if key not in data:
            if required:
                self.fail(field, "is missing")
            return None
        value = data[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(field, "must be a whole number")
        if kind is str and (not isinstance(value, str) or not value.strip()):
            self.fail(field, "must be non-empty text")
        if kind in (list, dict) and not isinstance(value, kind):
            self.fail(field, f"must be a{'n object' if kind is dict else ' list'}")
        return value

    def cited(self, data, field: str) -> dict:
        """A block holding numbers: an object whose `source` names one of `sources`."""
        if not isinstance(data, dict):
            self.fail(field, "must be an object")
        source = self.get(data, "source", f"{field}.source", str)
        if source not in self.raw["sources"]:
            self.fail(f"{field}.source", f"{source!r} is not a key of `sources`")
        return data


def _parse(path: Path, raw) -> Instrument:
    r = _Reader(path, raw)
    if not isinstance(raw, dict):
        r.fail("(file)", "must hold one JSON object")
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        r.fail(unknown[0], "is not a field of a definition")
    if r.get(raw, "format", "format", int) != FORMAT:
        r.fail("format", f"must be {FORMAT}")
    instrument_id = r.get(raw, "id", "id", str)
    if not ID_PATTERN.match(instrument_id):
        r.fail("id", "must be 1-32 lower-case letters, digits or _, starting with a letter")
    sources = r.get(raw, "sources", "sources", dict)
    if not sources or not all(isinstance(v, str) and v.strip() for v in sources.values()):
        r.fail("sources", "must map each key to the text of a citation")

    options_block = r.cited(r.get(raw, "options", "options", dict), "options")
    options = []
    for n, option in enumerate(r.get(options_block, "values", "options.values", list)):
        where = f"options.values[{n}]"
        options.append(
            (
                r.get(option, "value", f"{where}.value", int),
                r.get(option, "label", f"{where}.label", str),
            )
        )
    if len(options) < 2:
        r.fail("options.values", "needs at least two responses")
    if len({v for v, _ in options}) != len(options):
        r.fail("options.values", "repeats a value")

    items = []
    for n, item in enumerate(r.get(raw, "items", "items", list)):
        items.append(
            (r.get(item, "id", f"items[{n}].id", str), r.get(item, "text", f"items[{n}].text", str))
        )
    if not items or len(items) > MAX_ITEMS:
        r.fail("items", f"needs 1 to {MAX_ITEMS} items")
    if len({i for i, _ in items}) != len(items):
        r.fail("items", "repeats an item id")

    scoring = r.cited(r.get(raw, "scoring", "scoring", dict), "scoring")
    if r.get(scoring, "method", "scoring.method", str) != "sum":
        r.fail("scoring.method", 'must be "sum" (the only method this version knows)')
    bounds = r.get(scoring, "range", "scoring.range", list)
    if len(bounds) != 2 or any(isinstance(b, bool) or not isinstance(b, int) for b in bounds):
        r.fail("scoring.range", "must be [lowest, highest] whole numbers")
    low, high = bounds
    values = [v for v, _ in options]
    if (low, high) != (min(values) * len(items), max(values) * len(items)):
        r.fail("scoring.range", "is not the sum of the lowest and highest responses over the items")
    higher_is = r.get(scoring, "higher_is", "scoring.higher_is", str)
    if higher_is not in ("worse", "better"):
        r.fail("scoring.higher_is", 'must be "worse" or "better"')

    missing = r.cited(r.get(raw, "missing", "missing", dict), "missing")
    max_missing = r.get(missing, "max_missing", "missing.max_missing", int)
    if not 0 <= max_missing < len(items):
        r.fail("missing.max_missing", "must be at least 0 and fewer than the items")
    missing_why = r.get(missing, "why", "missing.why", str)

    bands_block = r.cited(r.get(raw, "bands", "bands", dict), "bands")
    bands = []
    for n, band in enumerate(r.get(bands_block, "values", "bands.values", list)):
        where = f"bands.values[{n}]"
        bands.append(
            Band(
                r.get(band, "min", f"{where}.min", int),
                r.get(band, "max", f"{where}.max", int),
                r.get(band, "label", f"{where}.label", str),
            )
        )
    expected = low
    for n, band in enumerate(bands):
        if band.low != expected or band.high < band.low:
            r.fail(f"bands.values[{n}]", f"must start at {expected} and not end before it starts")
        expected = band.high + 1
    if not bands or expected != high + 1:
        r.fail("bands.values", f"must cover {low} to {high} without gaps or overlaps")

    change = r.cited(r.get(raw, "reliable_change", "reliable_change", dict), "reliable_change")
    reliable = r.get(change, "value", "reliable_change.value", int)
    if not 0 < reliable <= high - low:
        r.fail("reliable_change.value", "must be above 0 and within the score range")
    caseness = None
    if raw.get("caseness") is not None:
        case = r.cited(r.get(raw, "caseness", "caseness", dict), "caseness")
        caseness = r.get(case, "at_least", "caseness.at_least", int)
        if not low < caseness <= high:
            r.fail("caseness.at_least", "must lie within the score range, above its lowest")
        if higher_is != "worse":
            r.fail("caseness", 'is only known for instruments where higher is "worse"')

    risks = []
    for n, risk in enumerate(r.get(raw, "risk_items", "risk_items", list, required=False) or []):
        where = f"risk_items[{n}]"
        r.cited(risk, where)
        item = r.get(risk, "item", f"{where}.item", str)
        if item not in {i for i, _ in items}:
            r.fail(f"{where}.item", f"{item!r} is not an item id")
        above = r.get(risk, "above", f"{where}.above", int)
        if not min(values) <= above < max(values):
            r.fail(f"{where}.above", "must be a response value below the highest")
        risks.append(RiskItem(item, above, r.get(risk, "message", f"{where}.message", str)))

    return Instrument(
        id=instrument_id,
        name=r.get(raw, "name", "name", str),
        title=r.get(raw, "title", "title", str),
        version=r.get(raw, "version", "version", int),
        rights=r.get(raw, "rights", "rights", str),
        instructions=r.get(raw, "instructions", "instructions", str),
        options=tuple(sorted(options)),
        items=tuple(items),
        low=low,
        high=high,
        higher_is_worse=higher_is == "worse",
        max_missing=max_missing,
        missing_why=missing_why,
        bands=tuple(bands),
        reliable_change=reliable,
        caseness=caseness,
        risk_items=tuple(risks),
        sources=dict(sources),
    )


def load_file(path: Path) -> Instrument:
    """One definition file, checked; DefinitionError names the file and field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(
            f"{path.name}: (file): cannot be read ({exc.__class__.__name__})"
        ) from None
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"{path.name}: (file): not JSON (line {exc.lineno})") from None
    return _parse(path, raw)


def definition_files(folder: str | Path | None = None) -> list[Path]:
    """The shipped definitions, then the practice's (`folder`), each folder's *.json by name."""
    files = sorted(SHIPPED.glob("*.json"))
    if folder:
        extra = Path(folder)
        if not extra.is_dir():
            raise DefinitionError(f"{extra}: (folder): is not a folder")
        files += sorted(extra.glob("*.json"))
    return files


def load_instruments(folder: str | Path | None = None) -> dict[str, Instrument]:
    """Every instrument by id: the shipped ones and the practice's; DefinitionError on the
    first bad file (or an id defined twice)."""
    found: dict[str, Instrument] = {}
    for path in definition_files(folder):
        instrument = load_file(path)
        if instrument.id in found:
            raise DefinitionError(f"{path.name}: id: {instrument.id!r} is defined twice")
        found[instrument.id] = instrument
    return found


def instruments() -> dict[str, Instrument]:
    """The instruments of the running app (loaded at start-up)."""
    registry = current_app.extensions.get("instruments")
    if registry is None:
        registry = current_app.extensions["instruments"] = load_instruments(
            current_app.config.get("PRACTICE_MEASURES_DIR")
        )
    return registry
