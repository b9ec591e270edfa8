"""Theme history: how each recurring script shows up across a client's sessions.

A pure computation over already-decrypted inputs (see theme_loader.py for the database
side), so it can be tested with hand-built histories. What it reports is CLINICAL.md
"Theme history". Decisions the contract leaves open:

- A script is *observed* in a session when the note links it from a relationship
  episode, the transference, an enactment or a rupture, or lists it in `scripts_active`
  (the clinician said it was live today). An observation resting on `scripts_active`
  alone adds no figure, transference or enactment and is flagged `active_only`.
- A session is one note. `sessions`, `sessions_since_last_seen` and the recurrence
  rate count the notes in the window; session *numbers* come from the client's attended
  appointments (see `session_numbers`), so they stay the same whatever the window.
- "With the therapist" (`in_transference`, `transference_count`) is a linked
  transference entry or a linked episode whose figure is the therapist. `by_figure_role`
  counts episodes by their figure's role, plus one "therapist" per linked transference
  entry not already told as an episode with the therapist figure in the same note.
- Negative-response shares count episodes whose valence was recorded; the trend is a
  least-squares slope of the per-session share over session number (share per session),
  given only from 4 sessions with a recorded valence on.

It runs in one pass (`ThemeHistory.add` per session, in session order) over plain
dicts, keeping nothing of a note's content but ids, roles and counts: for 1,000 notes
it must cost less than decrypting them (bench/themes.py).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date
from typing import Any, NamedTuple

PERVASIVENESS_LABEL = "clinician-selected episodes, not research-norm CCRT"
WHEN_VALUES = ("in_session", "current", "past", "childhood")
MIN_TREND_POINTS = 4
# Episode fields for each CCRT component: (text field, tag field).
COMPONENTS = {
    "wish": ("wish", "wish_tag"),
    "response_of_other": ("response_of_other", "ro_tag"),
    "response_of_self": ("response_of_self", "rs_tag"),
}


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


def least_squares_slope(points: list[tuple[float, float]]) -> float | None:
    """Slope of y over x, or None below MIN_TREND_POINTS points or with no spread in x."""
    if len(points) < MIN_TREND_POINTS:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return round(sxy / sxx, 6)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _dicts(items) -> list[dict] | tuple:
    return [item for item in items if item.__class__ is dict] if items else ()


def theme_history(
    notes: list[NoteInput],
    scripts: list[ScriptInput],
    figures: list[FigureInput],
    appointments: list[AppointmentInput],
    *,
    client_id=None,
    date_from: date | None = None,
    date_to: date | None = None,
    include_drafts: bool = False,
) -> dict:
    """The theme history of one client as a JSON-ready dict (shape in API.md)."""
    numbers = session_numbers(notes, appointments)
    window = [
        n
        for n in notes
        if n.content is not None
        and (include_drafts or n.status == "signed")
        and (date_from is None or n.session_date >= date_from)
        and (date_to is None or n.session_date <= date_to)
    ]
    history = ThemeHistory(scripts, figures)
    for day, number, note_id, _, note in sorted(
        (n.session_date, numbers[n.note_id], str(n.note_id), i, n) for i, n in enumerate(window)
    ):
        history.add(note_id, day.isoformat(), number, note.content)
    return history.result(client_id=client_id, date_from=date_from, date_to=date_to)


class _Cell:
    """One script in the session being added (dropped once the session is taken in)."""

    __slots__ = ("enactments", "episodes", "figures", "neg", "roles", "ruptures")
    __slots__ += ("therapist_episode", "transference")

    def __init__(self):
        self.episodes = self.enactments = self.ruptures = 0
        self.roles: list[str] = []
        self.figures: list[str] = []
        self.therapist_episode = self.transference = False
        # [negative of other, rated of other, negative of self, rated of self]
        self.neg = [0, 0, 0, 0]


class ThemeHistory:
    """The history built one session at a time: `add` each note of the window in session
    order (date, then session number, then note id), then take the `result`.

    A caller can decrypt one note at a time and let its plaintext go after `add`.
    """

    def __init__(self, scripts: list[ScriptInput], figures: list[FigureInput]):
        # Notes hold ids as JSON strings; compare everything as strings.
        self.survivors = {str(k): str(v) for k, v in survivor_map(scripts).items()}
        self.roles = {str(f.figure_id): f.role for f in figures}
        therapist = min((f for f, r in self.roles.items() if r == "therapist"), default=None)
        by_id = {str(s.script_id): s for s in scripts}
        self.scripts = {
            sid: _ScriptTheme(by_id[sid], therapist or "therapist")
            for sid in set(self.survivors.values())
        }
        # Pervasiveness, per component: its fields, tag → episodes, script → episodes.
        self.tallies = [(text, tag, {}, {}) for text, tag in COMPONENTS.values()]
        self.per_session: list[dict] = []
        self.episodes = 0

    def add(self, note_id: str, day: str, number: int, content: dict) -> None:
        """Take in the next session of the window: its note id, ISO date, number, content."""
        survivors, roles, scripts = self.survivors, self.roles, self.scripts
        cells: dict[str, _Cell] = {}

        def cell(script_id):
            target = survivors.get(script_id if script_id.__class__ is str else str(script_id))
            if target is None:
                return None, None
            found = cells.get(target)
            if found is None:
                found = cells[target] = _Cell()
            return target, found

        episodes = _dicts(content.get("relationship_episodes"))
        self.episodes += len(episodes)
        tallies = self.tallies
        for episode in episodes:
            get = episode.get
            script_id = get("script_id")
            target = c = None
            if script_id:  # cell(script_id), inlined: this loop is most of the cost
                target = survivors.get(script_id if script_id.__class__ is str else str(script_id))
                if target is not None:
                    c = cells.get(target)
                    if c is None:
                        c = cells[target] = _Cell()
            for text_field, tag_field, tags, components in tallies:
                tag = get(tag_field)
                has_tag = tag.__class__ is str and tag.strip() != ""
                if has_tag:
                    tag = tag.strip()
                    tags[tag] = tags.get(tag, 0) + 1
                if target is not None:
                    text = get(text_field)
                    if has_tag or (text.__class__ is str and text.strip() != ""):
                        components[target] = components.get(target, 0) + 1
            if c is None:
                continue
            c.episodes += 1
            figure_id = get("figure_id")
            if figure_id:
                figure = figure_id if figure_id.__class__ is str else str(figure_id)
                role = roles.get(figure, "unknown")
                c.figures.append(figure)
                if role == "therapist":
                    c.therapist_episode = True
            else:
                role = "unknown"
            c.roles.append(role)
            when = get("when")
            when = when if when in WHEN_VALUES else "unspecified"
            counts = scripts[target].when
            counts[when] = counts.get(when, 0) + 1
            ro, rs = get("ro_valence"), get("rs_valence")
            if ro == "negative" or ro == "positive":
                neg = c.neg
                neg[0] += ro == "negative"
                neg[1] += 1
            if rs == "negative" or rs == "positive":
                neg = c.neg
                neg[2] += rs == "negative"
                neg[3] += 1
        transference = content.get("transference")
        has_transference = (
            transference.__class__ is dict
            and bool(transference)
            and transference.get("present", True) is not False
        )
        linked = transference.get("script_id") if has_transference else None
        if linked and (c := cell(linked)[1]) is not None:
            c.transference = True
        enactments = content.get("enactments")
        enactments = _dicts(enactments) if enactments else ()
        for enactment in enactments:
            if enactment.get("script_id") and (c := cell(enactment["script_id"])[1]) is not None:
                c.enactments += 1
        ruptures = content.get("ruptures")
        ruptures = _dicts(ruptures) if ruptures else ()
        for rupture in ruptures:
            if rupture.get("script_id") and (c := cell(rupture["script_id"])[1]) is not None:
                c.ruptures += 1
        for script_id in content.get("scripts_active") or ():
            cell(script_id)
        index = len(self.per_session)
        for target, c in cells.items():
            scripts[target].take(c, day, number, note_id, index)
        self.per_session.append(
            {
                "date": day,
                "session_number": number,
                "note_id": note_id,
                "episodes": len(episodes),
                "transference": 1 if has_transference else 0,
                "enactments": len(enactments),
                "ruptures": len(ruptures),
            }
        )

    def result(self, *, client_id=None, date_from=None, date_to=None) -> dict:
        """The history as a JSON-ready dict (shape in API.md)."""
        total = len(self.per_session)
        summaries = [script.summary(total) for script in self.scripts.values()]
        summaries.sort(
            key=lambda s: (-s["sessions_observed"], s["name"].casefold(), s["script_id"])
        )
        by_id = {sid: script.script for sid, script in self.scripts.items()}
        return {
            "client_id": str(client_id) if client_id is not None else None,
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
            "sessions": total,
            "episodes": self.episodes,
            "scripts": summaries,
            "pervasiveness": _pervasiveness(self.episodes, self.tallies, by_id),
            "per_session": self.per_session,
        }


class _ScriptTheme:
    """One surviving script's history so far: its timeline and running totals."""

    __slots__ = ("by_role", "enactments", "figures", "first", "last", "negatives", "points")
    __slots__ += ("ruptures", "script", "therapist", "timeline", "when", "with_therapist")

    def __init__(self, script: ScriptInput, therapist: str):
        self.script, self.therapist = script, therapist
        self.by_role: dict[str, int] = {}
        self.figures: set[str] = set()
        self.when: dict[str, int] = {}
        self.timeline: list[dict] = []
        self.points: tuple[list, list] = ([], [])  # (session number, share): of other, self
        self.negatives = [0, 0, 0, 0]
        self.with_therapist = self.enactments = self.ruptures = 0
        self.first = self.last = None  # (date, number, note id, index in the window)

    def take(self, c: _Cell, day: str, number: int, note_id: str, index: int) -> None:
        """Take in one session where the script was observed."""
        roles, by_role = c.roles, self.by_role
        for role in roles:
            by_role[role] = by_role.get(role, 0) + 1
        self.figures.update(c.figures)
        if c.transference and not c.therapist_episode:
            by_role["therapist"] = by_role.get("therapist", 0) + 1
            roles = [*roles, "therapist"]
            self.figures.add(self.therapist)
        in_transference = c.transference or c.therapist_episode
        self.with_therapist += in_transference
        self.enactments += c.enactments
        self.ruptures += c.ruptures
        neg, negatives = c.neg, self.negatives
        if neg[1]:
            negatives[0] += neg[0]
            negatives[1] += neg[1]
            self.points[0].append((number, neg[0] / neg[1]))
        if neg[3]:
            negatives[2] += neg[2]
            negatives[3] += neg[3]
            self.points[1].append((number, neg[2] / neg[3]))
        if self.first is None:
            self.first = (day, number, note_id, index)
        self.last = (day, number, note_id, index)
        self.timeline.append(
            {
                "date": day,
                "session_number": number,
                "note_id": note_id,
                "figure_roles": sorted(set(roles)) if len(roles) > 1 else roles,
                "in_transference": in_transference,
                "enacted": c.enactments > 0,
                "episodes": c.episodes,
                "ruptures": c.ruptures,
                "active_only": not (c.episodes or c.transference or c.enactments or c.ruptures),
            }
        )

    def summary(self, total: int) -> dict:
        """The script's entry in the history, over `total` sessions in the window."""
        script, first, last, negatives = self.script, self.first, self.last, self.negatives
        observed = len(self.timeline)
        return {
            "script_id": str(script.script_id),
            "name": script.name,
            "status": script.status,
            "sessions_observed": observed,
            "first_seen": _point(first),
            "last_seen": _point(last),
            "sessions_since_last_seen": (total - 1 - last[3]) if last else None,
            "recurrence_rate": _share(observed, total - first[3]) if first else None,
            "by_figure_role": dict(sorted(self.by_role.items())),
            "distinct_figures": len(self.figures),
            "past_vs_current": {w: self.when.get(w, 0) for w in (*WHEN_VALUES, "unspecified")},
            "transference_count": self.with_therapist,
            "enactment_count": self.enactments,
            "rupture_count": self.ruptures,
            "negative_response_share": {
                "of_other": _share(negatives[0], negatives[1]),
                "of_self": _share(negatives[2], negatives[3]),
                "trend": {
                    "of_other": least_squares_slope(self.points[0]),
                    "of_self": least_squares_slope(self.points[1]),
                },
            },
            "timeline": self.timeline,
        }


def _point(seen: tuple | None) -> dict | None:
    if seen is None:
        return None
    return {"date": seen[0], "session_number": seen[1], "note_id": seen[2]}


def _pervasiveness(total: int, tallies: list[tuple], scripts: dict) -> dict:
    """Per component: each tag and each script's component, episodes containing it ÷ all."""
    result: dict[str, Any] = {"label": PERVASIVENESS_LABEL, "episodes": total}
    for component, (_, _, tag_counts, script_counts) in zip(COMPONENTS, tallies, strict=True):
        rows = [
            {"kind": "tag", "value": tag, "episodes": n, "share": _share(n, total)}
            for tag, n in tag_counts.items()
        ] + [
            {
                "kind": "script",
                "script_id": sid,
                "value": scripts[sid].name,
                "episodes": n,
                "share": _share(n, total),
            }
            for sid, n in script_counts.items()
        ]
        # Stable: ties keep the order in which they were first met.
        rows.sort(key=lambda r: (-r["episodes"], r["kind"], r["value"].casefold()))
        result[component] = rows
    return result
