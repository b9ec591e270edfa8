"""Theme history computed over hand-built histories with known answers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from practice.themes.history import PERVASIVENESS_LABEL, ThemeHistory, theme_history
from practice.themes.inputs import (
    AppointmentInput,
    FigureInput,
    NoteInput,
    ScriptInput,
    session_numbers,
    survivor_map,
)
from practice.themes.scripts import least_squares_slope

pytestmark = pytest.mark.pure  # plain values in, plain values out: no database

START = date(2026, 1, 5)
FATHER, PARTNER, BOSS, THERAPIST = "f-father", "f-partner", "f-boss", "f-therapist"
FIGURES = [
    FigureInput(FATHER, "father"),
    FigureInput(PARTNER, "partner"),
    FigureInput(BOSS, "authority"),
    FigureInput(THERAPIST, "therapist"),
]
CRITIC, RESCUE = "s-critic", "s-rescue"
SCRIPTS = [
    ScriptInput(CRITIC, "Braces for criticism", "focal"),
    ScriptInput(RESCUE, "Rescues others, then resents", "working"),
]


def episode(figure, script=None, when="current", ro=None, rs=None, **extra):
    data = {"figure_id": figure, "when": when, "wish": "to be seen", "response_of_other": ""}
    data.update(response_of_self="withdraws", **extra)
    if script:
        data["script_id"] = script
    if ro:
        data["ro_valence"] = ro
    if rs:
        data["rs_valence"] = rs
    return data


def note(week, *, status="signed", appointment=None, **content):
    return NoteInput(
        note_id=f"n{week:03d}",
        session_date=START + timedelta(weeks=week),
        status=status,
        content=content,
        appointment_id=appointment,
    )


def history(notes, scripts=SCRIPTS, figures=FIGURES, appointments=(), **kwargs):
    return theme_history(notes, scripts, figures, list(appointments), **kwargs)


def script_of(result, script_id):
    return next(s for s in result["scripts"] if s["script_id"] == script_id)


@pytest.fixture
def ten_weeks():
    """Critic: father (w0, w3), partner (w3), transference (w5), enacted (w7); rescue: w1."""
    return [
        note(0, relationship_episodes=[episode(FATHER, CRITIC, when="childhood")]),
        note(1, relationship_episodes=[episode(PARTNER, RESCUE)]),
        note(2),
        note(
            3,
            relationship_episodes=[
                episode(FATHER, CRITIC, when="past"),
                episode(PARTNER, CRITIC),
                episode(BOSS),
            ],
        ),
        note(4, status="draft", relationship_episodes=[episode(BOSS, CRITIC)]),
        note(
            5,
            transference={"present": True, "valence": "negative", "script_id": CRITIC},
            ruptures=[{"type": "withdrawal", "script_id": CRITIC}],
        ),
        note(6),
        note(7, enactments=[{"summary": "x", "script_id": CRITIC}]),
        note(8),
        note(9),
    ]


def test_counts_by_figure_role_first_last_and_since(ten_weeks):
    result = history(ten_weeks)
    assert result["sessions"] == 9  # the draft is out
    assert result["episodes"] == 5
    critic = script_of(result, CRITIC)
    assert critic["sessions_observed"] == 4
    assert critic["by_figure_role"] == {"father": 2, "partner": 1, "therapist": 1}
    assert critic["distinct_figures"] == 3
    assert critic["first_seen"]["date"] == "2026-01-05"
    assert critic["first_seen"]["session_number"] == 1
    assert critic["last_seen"]["session_number"] == 8
    assert critic["sessions_since_last_seen"] == 2
    assert critic["recurrence_rate"] == round(4 / 9, 4)
    assert critic["transference_count"] == 1
    assert critic["enactment_count"] == 1
    assert critic["rupture_count"] == 1
    assert critic["past_vs_current"] == {
        "in_session": 0,
        "current": 1,
        "past": 1,
        "childhood": 1,
        "unspecified": 0,
    }
    assert [t["session_number"] for t in critic["timeline"]] == [1, 4, 6, 8]
    assert critic["timeline"][1]["figure_roles"] == ["father", "partner"]
    assert critic["timeline"][2]["in_transference"] is True
    assert critic["timeline"][3]["enacted"] is True
    assert critic["timeline"][0]["in_transference"] is False
    rescue = script_of(result, RESCUE)
    assert rescue["sessions_observed"] == 1
    assert rescue["recurrence_rate"] == round(1 / 8, 4)
    assert rescue["sessions_since_last_seen"] == 7
    assert result["scripts"][0]["script_id"] == CRITIC  # most observed first


def test_per_session_counts(ten_weeks):
    per_session = history(ten_weeks)["per_session"]
    assert [p["session_number"] for p in per_session] == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    week3 = per_session[3]
    assert (week3["episodes"], week3["transference"], week3["enactments"]) == (3, 0, 0)
    week5 = per_session[4]
    assert (week5["transference"], week5["ruptures"]) == (1, 1)


def test_drafts_included_on_request(ten_weeks):
    result = history(ten_weeks, include_drafts=True)
    assert result["sessions"] == 10
    critic = script_of(result, CRITIC)
    assert critic["sessions_observed"] == 5
    assert critic["by_figure_role"]["authority"] == 1


def test_window_from_to_inclusive(ten_weeks):
    result = history(
        ten_weeks, date_from=START + timedelta(weeks=3), date_to=START + timedelta(weeks=5)
    )
    assert result["from"] == "2026-01-26" and result["to"] == "2026-02-09"
    assert result["sessions"] == 2  # week 3 and week 5 (week 4 is a draft)
    critic = script_of(result, CRITIC)
    assert critic["sessions_observed"] == 2
    assert critic["first_seen"]["session_number"] == 4  # numbers do not restart in a window
    assert critic["recurrence_rate"] == 1.0
    assert critic["sessions_since_last_seen"] == 0
    assert script_of(result, RESCUE)["sessions_observed"] == 0
    assert script_of(result, RESCUE)["first_seen"] is None


def test_merge_chains_fold_into_the_survivor():
    scripts = [
        ScriptInput("a", "Oldest wording", "retired", merged_into_id="b"),
        ScriptInput("b", "Middle wording", "retired", merged_into_id="c"),
        ScriptInput("c", "Current wording", "focal"),
    ]
    notes = [
        note(0, relationship_episodes=[episode(FATHER, "a")]),
        note(1, relationship_episodes=[episode(PARTNER, "b")]),
        note(2, transference={"present": True, "script_id": "c"}),
    ]
    result = history(notes, scripts=scripts)
    assert [s["script_id"] for s in result["scripts"]] == ["c"]
    survivor = result["scripts"][0]
    assert survivor["name"] == "Current wording"
    assert survivor["sessions_observed"] == 3
    assert survivor["by_figure_role"] == {"father": 1, "partner": 1, "therapist": 1}


def test_survivor_map_stops_on_a_cycle():
    scripts = [ScriptInput("x", "x", "working", "y"), ScriptInput("y", "y", "working", "x")]
    mapping = survivor_map(scripts)
    assert set(mapping) == {"x", "y"}
    assert all(v in {"x", "y"} for v in mapping.values())


def test_empty_history():
    result = history([], scripts=[], figures=[])
    assert result["sessions"] == 0 and result["episodes"] == 0
    assert result["scripts"] == [] and result["per_session"] == []
    assert result["pervasiveness"]["label"] == PERVASIVENESS_LABEL
    assert result["pervasiveness"]["wish"] == []


def test_notes_but_no_scripts():
    notes = [note(0, relationship_episodes=[episode(FATHER, wish_tag="to be close")]), note(1)]
    result = history(notes, scripts=[])
    assert result["sessions"] == 2 and result["episodes"] == 1
    assert result["scripts"] == []
    assert result["pervasiveness"]["wish"] == [
        {"kind": "tag", "value": "to be close", "episodes": 1, "share": 1.0}
    ]


def test_unknown_script_ids_are_ignored():
    notes = [note(0, relationship_episodes=[episode(FATHER, "not-a-script")])]
    assert script_of(history(notes), CRITIC)["sessions_observed"] == 0


def test_scripts_active_alone_counts_but_adds_no_figure():
    result = history([note(0, scripts_active=[CRITIC])])
    critic = script_of(result, CRITIC)
    assert critic["sessions_observed"] == 1
    assert critic["by_figure_role"] == {}
    assert critic["timeline"][0]["active_only"] is True


def test_therapist_episode_and_transference_count_once():
    notes = [
        note(
            0,
            relationship_episodes=[episode(THERAPIST, CRITIC, when="in_session")],
            transference={"present": True, "script_id": CRITIC},
        )
    ]
    critic = script_of(history(notes), CRITIC)
    assert critic["by_figure_role"] == {"therapist": 1}
    assert critic["transference_count"] == 1
    assert critic["distinct_figures"] == 1


def test_absent_transference_is_not_counted():
    notes = [note(0, transference={"present": False, "script_id": CRITIC})]
    result = history(notes)
    assert script_of(result, CRITIC)["sessions_observed"] == 0
    assert result["per_session"][0]["transference"] == 0


def test_session_numbers_from_attended_appointments():
    appointments = [AppointmentInput(f"a{i}", START + timedelta(weeks=i)) for i in range(6)]
    notes = [
        note(1, appointment="a1"),
        note(4, appointment="a4"),
        note(5),  # no appointment: the count of attended sessions up to its date
    ]
    numbers = session_numbers(notes, appointments)
    assert numbers == {"n001": 2, "n004": 5, "n005": 6}
    result = history(notes, appointments=appointments)
    assert [p["session_number"] for p in result["per_session"]] == [2, 5, 6]


def test_session_numbers_need_dates_only_for_notes_off_an_appointment():
    # The loader leaves the dates out (None) when every note is on an attended session.
    appointments = [AppointmentInput(f"a{i}", None) for i in range(3)]
    notes = [note(2, appointment="a2"), note(0, appointment="a0")]
    assert session_numbers(notes, appointments) == {"n002": 3, "n000": 1}


def test_session_numbers_count_same_day_and_unordered_dates():
    days = [START + timedelta(days=d) for d in (7, 0, 7, 14)]  # two sessions on one day
    appointments = [AppointmentInput(f"a{i}", day) for i, day in enumerate(days)]
    notes = [note(0), note(1), note(2), note(3, appointment="a1")]
    assert session_numbers(notes, appointments) == {"n000": 1, "n001": 3, "n002": 4, "n003": 2}


def test_added_one_session_at_a_time_equals_the_whole(ten_weeks):
    """The loader feeds ThemeHistory note by note; the result is theme_history's."""
    whole = history(ten_weeks, date_from=START + timedelta(weeks=1))
    built = ThemeHistory(SCRIPTS, FIGURES)
    for number, each in enumerate(ten_weeks, 1):  # numbered by note order: no appointments
        if number > 1 and each.status == "signed":
            built.add(each.note_id, each.session_date.isoformat(), number, each.content)
    assert built.result(date_from=START + timedelta(weeks=1)) == whole


def test_same_tag_in_different_case_and_same_names_keep_first_met_order():
    scripts = [ScriptInput("s1", "Same", "working"), ScriptInput("s2", "same", "working")]
    notes = [
        note(0, relationship_episodes=[episode(FATHER, "s2", wish_tag="Anger")]),
        note(1, relationship_episodes=[episode(FATHER, "s1", wish_tag="anger")]),
    ]
    rows = history(notes, scripts=scripts)["pervasiveness"]["wish"]
    assert [(r["kind"], r["value"]) for r in rows] == [
        ("script", "same"),
        ("script", "Same"),
        ("tag", "Anger"),
        ("tag", "anger"),
    ]
    assert [s["name"] for s in history(notes, scripts=scripts)["scripts"]] == ["Same", "same"]


def test_session_numbers_from_note_order_without_appointments():
    notes = [note(7), note(2), note(4)]
    assert session_numbers(notes, []) == {"n002": 1, "n004": 2, "n007": 3}


def test_valence_shares_and_trend():
    weeks = [("negative", "negative"), ("negative", "positive"), ("positive", "positive")]
    notes = [
        note(i, relationship_episodes=[episode(FATHER, CRITIC, ro=ro, rs=rs)])
        for i, (ro, rs) in enumerate(weeks)
    ]
    share = script_of(history(notes), CRITIC)["negative_response_share"]
    assert share["of_other"] == round(2 / 3, 4)
    assert share["of_self"] == round(1 / 3, 4)
    assert share["trend"] == {"of_other": None, "of_self": None}  # 3 points: no slope
    notes.append(note(3, relationship_episodes=[episode(FATHER, CRITIC, ro="positive")]))
    share = script_of(history(notes), CRITIC)["negative_response_share"]
    # of_other: 1, 1, 0, 0 over sessions 1..4 → slope -0.4; of_self still 3 points.
    assert share["trend"] == {"of_other": -0.4, "of_self": None}


def test_least_squares_slope():
    assert least_squares_slope([(1, 0), (2, 1), (3, 2), (4, 3)]) == 1.0
    assert least_squares_slope([(1, 0), (2, 1), (3, 2)]) is None
    assert least_squares_slope([(1, 0), (1, 1), (1, 0), (1, 1)]) is None


def test_pervasiveness_of_tags_and_script_components():
    notes = [
        note(
            0,
            relationship_episodes=[
                episode(FATHER, CRITIC, wish_tag="to be respected", ro_tag="rejecting"),
                episode(PARTNER, CRITIC, wish_tag="to be respected"),
                episode(BOSS, wish_tag="to be close"),
                episode(PARTNER),
            ],
        )
    ]
    pervasive = history(notes)["pervasiveness"]
    assert pervasive["label"] == PERVASIVENESS_LABEL
    assert pervasive["episodes"] == 4
    wishes = {(r["kind"], r["value"]): r["share"] for r in pervasive["wish"]}
    assert wishes == {
        ("tag", "to be respected"): 0.5,
        ("tag", "to be close"): 0.25,
        ("script", "Braces for criticism"): 0.5,
    }
    # Only one of the critic's episodes records the response of other (text or tag).
    others = {(r["kind"], r["value"]): r["share"] for r in pervasive["response_of_other"]}
    assert others == {("tag", "rejecting"): 0.25, ("script", "Braces for criticism"): 0.25}


def test_malformed_content_is_tolerated():
    notes = [note(0, relationship_episodes=["not a dict", None], enactments=[3])]
    result = history(notes)
    assert result["sessions"] == 1 and result["episodes"] == 0
