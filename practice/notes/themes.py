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
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

PERVASIVENESS_LABEL = "clinician-selected episodes, not research-norm CCRT"
WHEN_VALUES = ("in_session", "current", "past", "childhood")
MIN_TREND_POINTS = 4
# Episode fields for each CCRT component: (text field, tag field).
COMPONENTS = {
    "wish": ("wish", "wish_tag"),
    "response_of_other": ("response_of_other", "ro_tag"),
    "response_of_self": ("response_of_self", "rs_tag"),
}


@dataclass(frozen=True)
class NoteInput:
    """A note's plain columns and its decrypted content (None when it is outside the
    window or an excluded draft: such notes only take part in session numbering)."""

    note_id: Any
    session_date: date
    status: str
    content: dict | None
    appointment_id: Any = None


@dataclass(frozen=True)
class ScriptInput:
    script_id: Any
    name: str
    status: str
    merged_into_id: Any = None


@dataclass(frozen=True)
class FigureInput:
    figure_id: Any
    role: str


@dataclass(frozen=True)
class AppointmentInput:
    """An attended appointment of the client: id and its local date."""

    appointment_id: Any
    day: date


class _Seen:
    """One script in one session, accumulated while the notes are read."""

    __slots__ = ("day", "enactments", "episodes", "figures", "index", "neg", "note_id", "number")
    __slots__ += ("roles", "ruptures", "therapist_episode", "transference")

    def __init__(self, day: str, note_id: str, number: int, index: int):
        self.day, self.note_id, self.number, self.index = day, note_id, number, index
        self.episodes = self.enactments = self.ruptures = 0
        self.roles: list[str] = []
        self.figures: list[str] = []
        self.therapist_episode = self.transference = False
        # [negative of other, rated of other, negative of self, rated of self]
        self.neg = [0, 0, 0, 0]


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
    days = [a.day for a in appointments]
    numbers = {}
    for note in notes:
        if note.appointment_id in rank:
            numbers[note.note_id] = rank[note.appointment_id]
        else:
            numbers[note.note_id] = sum(1 for d in days if d <= note.session_date)
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
        if (include_drafts or n.status == "signed")
        and (date_from is None or n.session_date >= date_from)
        and (date_to is None or n.session_date <= date_to)
        and n.content is not None
    ]
    window.sort(key=lambda n: (n.session_date, numbers[n.note_id], str(n.note_id)))
    # Notes hold ids as JSON strings; compare everything as strings.
    survivors = {str(k): str(v) for k, v in survivor_map(scripts).items()}
    by_id = {str(s.script_id): s for s in scripts}
    roles = {str(f.figure_id): f.role for f in figures}
    seen: dict[str, list[_Seen]] = {sid: [] for sid in set(survivors.values())}
    when_counts: dict[str, Counter] = {sid: Counter() for sid in seen}
    per_session, all_episodes = [], []
    for index, note in enumerate(window):
        content = note.content
        day, note_id, number = (
            note.session_date.isoformat(),
            str(note.note_id),
            numbers[note.note_id],
        )
        cells: dict[str, _Seen] = {}

        def cell(script_id, day=day, note_id=note_id, number=number, index=index, cells=cells):
            target = survivors.get(script_id if script_id.__class__ is str else str(script_id))
            if target is None:
                return None
            found = cells.get(target)
            if found is None:
                found = cells[target] = _Seen(day, note_id, number, index)
            return found

        episodes = [e for e in content.get("relationship_episodes") or () if e.__class__ is dict]
        for episode in episodes:
            script_id = episode.get("script_id")
            c = cell(script_id) if script_id else None
            all_episodes.append((episode, survivors.get(str(script_id)) if c else None))
            if c is None:
                continue
            c.episodes += 1
            figure_id = episode.get("figure_id")
            role = roles.get(str(figure_id), "unknown") if figure_id else "unknown"
            c.roles.append(role)
            if figure_id:
                c.figures.append(str(figure_id))
            if role == "therapist":
                c.therapist_episode = True
            when = episode.get("when")
            when_counts[survivors[str(script_id)]][
                when if when in WHEN_VALUES else "unspecified"
            ] += 1
            ro, rs, neg = episode.get("ro_valence"), episode.get("rs_valence"), c.neg
            if ro == "negative" or ro == "positive":
                neg[0] += ro == "negative"
                neg[1] += 1
            if rs == "negative" or rs == "positive":
                neg[2] += rs == "negative"
                neg[3] += 1
        transference = content.get("transference")
        has_transference = (
            transference.__class__ is dict
            and bool(transference)
            and transference.get("present", True) is not False
        )
        linked = transference.get("script_id") if has_transference else None
        if linked and (c := cell(linked)) is not None:
            c.transference = True
        enactments = [e for e in content.get("enactments") or () if e.__class__ is dict]
        for enactment in enactments:
            if enactment.get("script_id") and (c := cell(enactment["script_id"])) is not None:
                c.enactments += 1
        ruptures = [r for r in content.get("ruptures") or () if r.__class__ is dict]
        for rupture in ruptures:
            if rupture.get("script_id") and (c := cell(rupture["script_id"])) is not None:
                c.ruptures += 1
        for script_id in content.get("scripts_active") or ():
            cell(script_id)
        for target, c in cells.items():
            seen[target].append(c)
        per_session.append(
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

    therapist = min((f for f, r in roles.items() if r == "therapist"), default="therapist")
    summaries = [
        _script_summary(by_id[sid], cells, when_counts[sid], therapist, len(window))
        for sid, cells in seen.items()
    ]
    summaries.sort(key=lambda s: (-s["sessions_observed"], s["name"].casefold(), s["script_id"]))
    return {
        "client_id": str(client_id) if client_id is not None else None,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "sessions": len(window),
        "episodes": len(all_episodes),
        "scripts": summaries,
        "pervasiveness": _pervasiveness(all_episodes, by_id),
        "per_session": per_session,
    }


def _script_summary(script: ScriptInput, cells: list[_Seen], when, therapist, total) -> dict:
    by_role: Counter = Counter()
    figures_met: set = set()
    timeline = []
    points: dict[str, list] = {"of_other": [], "of_self": []}
    negatives = [0, 0, 0, 0]
    with_therapist = enactment_count = rupture_count = 0
    for c in cells:
        cell_roles = c.roles
        by_role.update(cell_roles)
        figures_met.update(c.figures)
        if c.transference and not c.therapist_episode:
            by_role["therapist"] += 1
            cell_roles = [*cell_roles, "therapist"]
            figures_met.add(therapist)
        in_transference = c.transference or c.therapist_episode
        with_therapist += in_transference
        enactment_count += c.enactments
        rupture_count += c.ruptures
        neg = c.neg
        for i in range(4):
            negatives[i] += neg[i]
        if neg[1]:
            points["of_other"].append((c.number, neg[0] / neg[1]))
        if neg[3]:
            points["of_self"].append((c.number, neg[2] / neg[3]))
        timeline.append(
            {
                "date": c.day,
                "session_number": c.number,
                "note_id": c.note_id,
                "figure_roles": sorted(set(cell_roles)),
                "in_transference": in_transference,
                "enacted": c.enactments > 0,
                "episodes": c.episodes,
                "ruptures": c.ruptures,
                "active_only": not (c.episodes or c.transference or c.enactments or c.ruptures),
            }
        )
    first = cells[0] if cells else None
    last = cells[-1] if cells else None
    return {
        "script_id": str(script.script_id),
        "name": script.name,
        "status": script.status,
        "sessions_observed": len(cells),
        "first_seen": _point(first),
        "last_seen": _point(last),
        "sessions_since_last_seen": (total - 1 - last.index) if last else None,
        "recurrence_rate": _share(len(cells), total - first.index) if first else None,
        "by_figure_role": dict(sorted(by_role.items())),
        "distinct_figures": len(figures_met),
        "past_vs_current": {w: when.get(w, 0) for w in (*WHEN_VALUES, "unspecified")},
        "transference_count": with_therapist,
        "enactment_count": enactment_count,
        "rupture_count": rupture_count,
        "negative_response_share": {
            "of_other": _share(negatives[0], negatives[1]),
            "of_self": _share(negatives[2], negatives[3]),
            "trend": {k: least_squares_slope(v) for k, v in points.items()},
        },
        "timeline": timeline,
    }


def _point(c: _Seen | None) -> dict | None:
    if c is None:
        return None
    return {"date": c.day, "session_number": c.number, "note_id": c.note_id}


def _pervasiveness(episodes: list[tuple[dict, Any]], scripts: dict) -> dict:
    """Per component: each tag and each script's component, episodes containing it ÷ all."""
    total = len(episodes)
    result: dict[str, Any] = {"label": PERVASIVENESS_LABEL, "episodes": total}
    for component, (text_field, tag_field) in COMPONENTS.items():
        tags: Counter = Counter()
        by_script: Counter = Counter()
        for episode, script_id in episodes:
            tag = episode.get(tag_field)
            has_tag = tag.__class__ is str and tag.strip() != ""
            if has_tag:
                tags[tag.strip()] += 1
            if script_id is not None:
                text = episode.get(text_field)
                if has_tag or (text.__class__ is str and text.strip() != ""):
                    by_script[script_id] += 1
        rows = [
            {"kind": "tag", "value": tag, "episodes": n, "share": _share(n, total)}
            for tag, n in tags.items()
        ] + [
            {
                "kind": "script",
                "script_id": str(sid),
                "value": scripts[sid].name,
                "episodes": n,
                "share": _share(n, total),
            }
            for sid, n in by_script.items()
        ]
        rows.sort(key=lambda r: (-r["episodes"], r["kind"], r["value"].casefold()))
        result[component] = rows
    return result
