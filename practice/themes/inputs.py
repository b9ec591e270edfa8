"""What theme history is computed from: plain, already-decrypted inputs, and how the
sessions are numbered (see practice/themes/history.py)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple


# Inputs are plain named tuples: a thousand notes are built per request.
class NoteInput(NamedTuple):
    """A note's plain columns and its decrypted content (None when it is outside the
    window or an excluded draft: such notes only take part in session numbering)."""

    note_id: Any
    session_date: date
    status: str
    content: dict | None
    appointment_id: Any = None


class ScriptInput(NamedTuple):
    script_id: Any
    name: str
    status: str
    merged_into_id: Any = None


class FigureInput(NamedTuple):
    figure_id: Any
    role: str


class AppointmentInput(NamedTuple):
    """An attended appointment of the client: id and its local date (None is allowed when
    every note is on an attended appointment: then no date is ever read)."""

    appointment_id: Any
    day: date | None


def session_numbers(notes: list[NoteInput], appointments: list[AppointmentInput]) -> dict[Any, int]:
    """Note id → session number.

    With attended appointments: a note on one of them takes its rank (1-based, by start);
    any other note takes the count of attended sessions up to and including its date.
    Without any: the order of the notes by date.
    """
    if not appointments:
        ordered = sorted(notes, key=lambda n: (n.session_date, str(n.note_id)))
        return {n.note_id: i for i, n in enumerate(ordered, 1)}
    rank = {a.appointment_id: i for i, a in enumerate(appointments, 1)}
    days: list[date] | None = None
    numbers = {}
    for note in notes:
        number = rank.get(note.appointment_id)
        if number is None:
            if days is None:  # only notes off an attended appointment need the dates
                days = sorted(a.day for a in appointments)
            number = bisect_right(days, note.session_date)
        numbers[note.note_id] = number
    return numbers


def session_window(
    notes: Iterable[NoteInput],
    numbers: dict[Any, int],
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    include_drafts: bool = False,
) -> list[tuple[date, int, str, NoteInput]]:
    """The notes of the window, as (date, session number, note id text, note), in session
    order: date, then number, then id. Drafts only with `include_drafts`."""
    return sorted(
        (
            (n.session_date, numbers[n.note_id], str(n.note_id), n)
            for n in notes
            if (include_drafts or n.status == "signed")
            and (date_from is None or n.session_date >= date_from)
            and (date_to is None or n.session_date <= date_to)
        ),
        key=lambda item: item[:3],
    )


def survivor_map(scripts: Iterable[ScriptInput]) -> dict[Any, Any]:
    """Script id → the id of the script it finally folds into (following merge chains)."""
    parent = {s.script_id: s.merged_into_id for s in scripts}
    resolved: dict[Any, Any] = {}
    for start in parent:
        current, seen = start, {start}
        while parent.get(current) is not None and parent[current] in parent:
            current = parent[current]
            if current in seen:  # a cycle: stop where it closes
                break
            seen.add(current)
        resolved[start] = current
    return resolved
