"""Scoring an instrument and reading a series of scores: pure functions over definitions.

- `score`: the total of one completed form. Every item takes one of the instrument's
  response values; a form missing more items than the definition's `missing.max_missing`
  is refused (PHQ-9 and GAD-7: none may be missing); up to that many, the total is
  prorated (sum * items / answered, rounded half up) and marked so. A risk item must
  always be answered.
- `series_report`: each score with its band, its change from the first score, reliable
  improvement or deterioration (a change of at least the reliable-change value in the
  better or worse direction), whether it is a case (at or above caseness), and recovery:
  a case at the first score, below caseness now, with reliable improvement.
"""

from __future__ import annotations

from practice.measures.definitions import Instrument


class FormRefused(ValueError):
    """The responses do not make a form this instrument can score; `errors` by field."""

    def __init__(self, errors: dict):
        super().__init__("form refused")
        self.errors = errors


def score(instrument: Instrument, responses) -> dict:
    """{"score", "answered", "prorated", "risk"} for `responses` ({item id: value})."""
    if not isinstance(responses, dict):
        raise FormRefused({"responses": ["Give the responses as {item id: value}."]})
    ids, values = instrument.item_ids, instrument.values
    errors: dict[str, list[str]] = {}
    for key in responses:
        if key not in ids:
            errors[str(key)[:40]] = [f"{instrument.name} has no item {str(key)[:40]!r}."]
    answered = {}
    for item_id in ids:
        value = responses.get(item_id)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value not in values:
            errors[item_id] = [f"Must be one of {sorted(values)}."]
        else:
            answered[item_id] = value
    missing = [item_id for item_id in ids if responses.get(item_id) is None]
    if len(missing) > instrument.max_missing:
        allowed = (
            "every item must be answered"
            if instrument.max_missing == 0
            else f"at most {instrument.max_missing} may be left out"
        )
        errors.setdefault("responses", []).append(
            f"A partial form: {len(missing)} of {len(ids)} items unanswered; "
            f"for {instrument.name} {allowed}."
        )
    for risk in instrument.risk_items:
        if risk.item in missing:
            errors.setdefault(risk.item, []).append("A risk item must be answered.")
    if errors:
        raise FormRefused(errors)
    total = sum(answered.values())
    prorated = len(answered) < len(ids)
    if prorated:
        total = (2 * total * len(ids) + len(answered)) // (2 * len(answered))
    risk = [r.item for r in instrument.risk_items if answered[r.item] > r.above]
    return {"score": total, "answered": len(answered), "prorated": prorated, "risk": risk}


def is_case(instrument: Instrument, value: int) -> bool | None:
    """At or above caseness; None when the instrument names no caseness."""
    return None if instrument.caseness is None else value >= instrument.caseness


def reliable(instrument: Instrument, change: int) -> str | None:
    """ "improvement", "deterioration" or None for a change from the first score."""
    better = -change if instrument.higher_is_worse else change
    if better >= instrument.reliable_change:
        return "improvement"
    if -better >= instrument.reliable_change:
        return "deterioration"
    return None


def series_report(instrument: Instrument, scores: list[dict]) -> list[dict]:
    """`scores` (each with "score", in session order) with band, change from the first,
    reliable change, caseness and recovery added to a copy of each."""
    if not scores:
        return []
    first = scores[0]["score"]
    first_case = is_case(instrument, first)
    rows = []
    for entry in scores:
        value = entry["score"]
        change = value - first
        direction = reliable(instrument, change)
        case = is_case(instrument, value)
        recovered = (
            None if case is None else bool(first_case and not case and direction == "improvement")
        )
        rows.append(
            {
                **entry,
                "band": instrument.band(value),
                "change_from_first": change,
                "reliable_change": direction,
                "case": case,
                "recovered": recovered,
            }
        )
    return rows
