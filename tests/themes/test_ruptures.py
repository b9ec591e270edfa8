"""Rupture and repair in the theme history: counts by type and resolution over the window,
and the plain flag over its last four sessions (an aid, not a score)."""

from __future__ import annotations

from practice.themes.history import ThemeHistory
from practice.themes.ruptures import FLAG_LABEL


def history(*sessions) -> dict:
    """A history of sessions, each a list of (type, resolution) ruptures."""
    built = ThemeHistory([], [])
    for n, ruptures in enumerate(sessions, 1):
        content = {"ruptures": [{"type": t, "resolution": r} for t, r in ruptures]}
        built.add(f"note-{n}", f"2026-01-{n:02d}", n, content)
    return built.result()["ruptures"]


def test_counts_by_type_and_resolution_over_the_window():
    found = history(
        [("withdrawal", "resolved"), ("withdrawal", "partial")],
        [],
        [("confrontation", "resolved"), ("mixed", None)],
        [(None, "unresolved")],
    )
    assert found["total"] == 5
    assert found["by_type"] == {
        "confrontation": {"resolved": 1},
        "mixed": {"unrecorded": 1},
        "unrecorded": {"unresolved": 1},
        "withdrawal": {"partial": 1, "resolved": 1},
    }
    assert found["by_resolution"] == {"partial": 1, "resolved": 2, "unrecorded": 1, "unresolved": 1}
    # One unresolved rupture, not a confrontation: no flag.
    assert found["flag"]["raised"] is False and found["flag"]["label"] == FLAG_LABEL


def test_an_unresolved_confrontation_in_the_last_four_sessions_raises_the_flag():
    flag = history([], [], [("confrontation", "unresolved")], [])["flag"]
    assert flag["raised"] is True
    assert flag["reasons"] == ["A confrontation rupture in the last four sessions is unresolved."]
    assert flag["unresolved_recent"] == [
        {"session_number": 3, "date": "2026-01-03", "note_id": "note-3", "type": "confrontation"}
    ]


def test_a_partly_repaired_confrontation_does_not():
    assert history([("confrontation", "partial")])["flag"]["raised"] is False


def test_two_unresolved_ruptures_in_the_last_four_sessions_raise_it():
    flag = history([("withdrawal", "unresolved")], [], [], [("withdrawal", "unresolved")])["flag"]
    assert flag["raised"] is True
    assert flag["reasons"] == ["2 ruptures in the last four sessions are unresolved."]


def test_older_sessions_do_not_count():
    # Five sessions: the first falls outside the last four.
    flag = history([("confrontation", "unresolved")], [], [], [], [("withdrawal", "unresolved")])[
        "flag"
    ]
    assert flag["raised"] is False
    assert [u["session_number"] for u in flag["unresolved_recent"]] == [5]


def test_no_ruptures():
    found = history([], [])
    assert found["total"] == 0 and found["by_type"] == {} and found["flag"]["raised"] is False
