"""Scoring worked out by hand: every band edge of PHQ-9 and GAD-7, reliable change both
ways, caseness and recovery, partial and malformed forms, proration and risk items."""

from __future__ import annotations

import dataclasses

import pytest

from practice.measures import scoring
from practice.measures.definitions import load_instruments

INSTRUMENTS = load_instruments()
PHQ9, GAD7 = INSTRUMENTS["phq9"], INSTRUMENTS["gad7"]


def form(instrument, total: int) -> dict:
    """Answers adding up to `total`, filled from the first item (3s, then the rest)."""
    answers = {}
    for item_id in instrument.item_ids:
        answers[item_id] = min(3, total)
        total -= answers[item_id]
    assert total == 0
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Minimal"), (4, "Minimal"), (5, "Mild"), (9, "Mild"), (10, "Moderate"),
        (14, "Moderate"), (15, "Moderately severe"), (19, "Moderately severe"),
        (20, "Severe"), (27, "Severe"),
    ],
)  # fmt: skip
def test_phq9_band_edges(total, band):
    scored = scoring.score(PHQ9, form(PHQ9, total))
    assert scored["score"] == total and not scored["prorated"]
    assert PHQ9.band(scored["score"]) == band


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Minimal"), (4, "Minimal"), (5, "Mild"), (9, "Mild"), (10, "Moderate"),
        (14, "Moderate"), (15, "Severe"), (21, "Severe"),
    ],
)  # fmt: skip
def test_gad7_band_edges(total, band):
    scored = scoring.score(GAD7, form(GAD7, total))
    assert scored["score"] == total
    assert GAD7.band(total) == band


def test_the_shipped_thresholds_are_the_cited_ones():
    assert (PHQ9.reliable_change, PHQ9.caseness, PHQ9.low, PHQ9.high) == (6, 10, 0, 27)
    assert (GAD7.reliable_change, GAD7.caseness, GAD7.low, GAD7.high) == (4, 8, 0, 21)
    assert len(PHQ9.items) == 9 and len(GAD7.items) == 7
    assert PHQ9.max_missing == GAD7.max_missing == 0


def test_item_9_above_zero_is_a_risk_and_zero_is_not():
    answers = form(PHQ9, 0)
    assert scoring.score(PHQ9, answers)["risk"] == []
    answers["9"] = 1
    scored = scoring.score(PHQ9, answers)
    assert scored["risk"] == ["9"] and scored["score"] == 1
    assert scoring.score(GAD7, {i: 3 for i in GAD7.item_ids})["risk"] == []


# Below the edge, at it, below it the other way, at it the other way.
EDGES = [None, None, "improvement", None, "deterioration"]


def series(instrument, *totals):
    return scoring.series_report(instrument, [{"score": t} for t in totals])


def test_phq9_reliable_change_both_ways_at_the_edge_of_six():
    rows = series(PHQ9, 16, 11, 10, 21, 22)
    assert [r["change_from_first"] for r in rows] == [0, -5, -6, 5, 6]
    assert [r["reliable_change"] for r in rows] == EDGES


def test_gad7_reliable_change_both_ways_at_the_edge_of_four():
    rows = series(GAD7, 10, 7, 6, 13, 14)
    assert [r["reliable_change"] for r in rows] == EDGES


def test_caseness_edges():
    assert [r["case"] for r in series(PHQ9, 9, 10)] == [False, True]
    assert [r["case"] for r in series(GAD7, 7, 8)] == [False, True]


def test_recovery_needs_case_at_first_below_caseness_now_and_reliable_improvement():
    # 16 → 9: a case, now below 10, fell by 7: recovered.
    assert series(PHQ9, 16, 9)[-1]["recovered"] is True
    # 12 → 9: below caseness now, but a fall of 3 is not reliable: not recovered.
    assert series(PHQ9, 12, 9)[-1]["recovered"] is False
    # 9 → 2: reliably improved, but never a case: not a recovery.
    last = series(PHQ9, 9, 2)[-1]
    assert last["reliable_change"] == "improvement" and last["recovered"] is False
    # 20 → 10: reliably improved but still at caseness.
    assert series(PHQ9, 20, 10)[-1]["recovered"] is False
    # GAD-7 10 → 6: a fall of 4, below 8: recovered; 10 → 7: a fall of 3: not.
    assert series(GAD7, 10, 6)[-1]["recovered"] is True
    assert series(GAD7, 10, 7)[-1]["recovered"] is False


def test_bands_in_the_report():
    rows = series(PHQ9, 4, 5, 27)
    assert [r["band"] for r in rows] == ["Minimal", "Mild", "Severe"]
    assert series(PHQ9) == []


def test_a_partial_form_is_refused():
    answers = form(PHQ9, 12)
    del answers["3"]
    with pytest.raises(scoring.FormRefused) as refused:
        scoring.score(PHQ9, answers)
    assert "partial form" in refused.value.errors["responses"][0]
    answers["3"] = None  # null counts as unanswered too
    with pytest.raises(scoring.FormRefused):
        scoring.score(PHQ9, answers)


def test_an_unanswered_item_9_is_named():
    answers = form(PHQ9, 3)
    del answers["9"]
    with pytest.raises(scoring.FormRefused) as refused:
        scoring.score(PHQ9, answers)
    assert refused.value.errors["9"] == ["A risk item must be answered."]


@pytest.mark.parametrize("value", [-1, 4, 1.5, "2", True, None])
def test_out_of_range_or_wrong_type_values_are_refused(value):
    answers = form(GAD7, 7)
    answers["4"] = value
    with pytest.raises(scoring.FormRefused) as refused:
        scoring.score(GAD7, answers)
    assert "4" in refused.value.errors or "responses" in refused.value.errors


def test_unknown_items_and_non_objects_are_refused():
    with pytest.raises(scoring.FormRefused) as refused:
        scoring.score(GAD7, {**form(GAD7, 7), "8": 1})
    assert "8" in refused.value.errors
    with pytest.raises(scoring.FormRefused):
        scoring.score(GAD7, [1, 2, 3])


def test_proration_where_an_instrument_allows_it():
    # A practice's instrument that allows one item missing: 3 answered of 4, sum 5,
    # prorated 5 * 4 / 3 = 6.67 → 7 (half up); sum 3 → 4 exactly; sum 1 → 1.33 → 1.
    custom = dataclasses.replace(
        GAD7,
        items=GAD7.items[:4],
        high=12,
        max_missing=1,
        bands=(dataclasses.replace(GAD7.bands[0], high=12),),
    )
    scored = scoring.score(custom, {"1": 3, "2": 2, "3": 0})
    assert scored == {"score": 7, "answered": 3, "prorated": True, "risk": []}
    assert scoring.score(custom, {"1": 1, "2": 1, "4": 1})["score"] == 4
    assert scoring.score(custom, {"1": 1, "2": 0, "4": 0})["score"] == 1
    with pytest.raises(scoring.FormRefused):
        scoring.score(custom, {"1": 3, "2": 2})


@pytest.mark.parametrize("instrument", [PHQ9, GAD7], ids=lambda i: i.id)
def test_the_timeline_reads_scores_exactly_as_the_report_does(app, instrument):
    """attach_scores computes band, change, reliable change, caseness and recovery in its
    own pass (for speed); over every score in a long wandering series it must agree."""
    from practice.measures.timeline import attach_scores

    totals = [(n * 7 + 3) % (instrument.high + 1) for n in range(60)]
    totals[:4] = [instrument.high, 0, instrument.caseness or 0, instrument.high // 2]
    report = scoring.series_report(instrument, [{"score": t} for t in totals])
    history = {"per_session": []}
    rows = [
        (f"m{n}", None, f"2026-01-{1 + n % 28:02d}", instrument.id, t, [])
        for n, t in enumerate(totals)
    ]
    with app.app_context():
        attach_scores(history, rows, {}, {})
    [lane] = history["measures"]
    fields = ("band", "change_from_first", "reliable_change", "case", "recovered")
    assert [{f: s[f] for f in fields} for s in lane["scores"]] == [
        {f: r[f] for f in fields} for r in report
    ]
