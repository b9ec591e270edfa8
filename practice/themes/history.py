"""Theme history: how each recurring script shows up across a client's sessions.

A pure computation over already-decrypted inputs (see loader.py for the database
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

from datetime import date
from typing import Any

from practice.themes.inputs import (
    AppointmentInput,
    FigureInput,
    NoteInput,
    ScriptInput,
    session_numbers,
    session_window,
    survivor_map,
)
from practice.themes.ruptures import RuptureTally
from practice.themes.scripts import WHEN_VALUES, Cell, ScriptTheme, share

PERVASIVENESS_LABEL = "clinician-selected episodes, not research-norm CCRT"
# Episode fields for each CCRT component: (text field, tag field).
COMPONENTS = {
    "wish": ("wish", "wish_tag"),
    "response_of_other": ("response_of_other", "ro_tag"),
    "response_of_self": ("response_of_self", "rs_tag"),
}


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
    readable = [n for n in notes if n.content is not None]
    history = ThemeHistory(scripts, figures)
    for day, number, note_id, note in session_window(
        readable, numbers, date_from=date_from, date_to=date_to, include_drafts=include_drafts
    ):
        history.add(note_id, day.isoformat(), number, note.content)
    return history.result(client_id=client_id, date_from=date_from, date_to=date_to)


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
            sid: ScriptTheme(by_id[sid], therapist or "therapist")
            for sid in set(self.survivors.values())
        }
        # Pervasiveness, per component: its fields, tag → episodes, script → episodes.
        self.tallies = [(text, tag, {}, {}) for text, tag in COMPONENTS.values()]
        self.per_session: list[dict] = []
        self.episodes = 0
        self.ruptures = RuptureTally()

    def add(self, note_id: str, day: str, number: int, content: dict) -> None:
        """Take in the next session of the window: its note id, ISO date, number, content."""
        survivors, roles, scripts = self.survivors, self.roles, self.scripts
        cells: dict[str, Cell] = {}

        def cell(script_id) -> Cell | None:
            """The cell of the script `script_id` folds into (None: not this client's)."""
            target = survivors.get(script_id if script_id.__class__ is str else str(script_id))
            if target is None:
                return None
            found = cells.get(target)
            if found is None:
                found = cells[target] = Cell()
            return found

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
                        c = cells[target] = Cell()
            for text_field, tag_field, tags, components in tallies:
                # isspace() rather than strip(): texts run to thousands of characters,
                # and strip() would copy each one only to compare it with "".
                tag = get(tag_field)
                has_tag = tag.__class__ is str and tag != "" and not tag.isspace()
                if has_tag:
                    tag = tag.strip()
                    tags[tag] = tags.get(tag, 0) + 1
                if target is not None:
                    text = get(text_field)
                    if has_tag or (text.__class__ is str and text != "" and not text.isspace()):
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
                valences = c.valences
                valences.negative_of_other += ro == "negative"
                valences.rated_of_other += 1
            if rs == "negative" or rs == "positive":
                valences = c.valences
                valences.negative_of_self += rs == "negative"
                valences.rated_of_self += 1
        transference = content.get("transference")
        has_transference = (
            transference.__class__ is dict
            and bool(transference)
            and transference.get("present", True) is not False
        )
        linked = transference.get("script_id") if has_transference else None
        if linked and (c := cell(linked)) is not None:
            c.transference = True
        enactments = _dicts(content.get("enactments"))
        for enactment in enactments:
            if enactment.get("script_id") and (c := cell(enactment["script_id"])) is not None:
                c.enactments += 1
        ruptures = _dicts(content.get("ruptures"))
        for rupture in ruptures:
            if rupture.get("script_id") and (c := cell(rupture["script_id"])) is not None:
                c.ruptures += 1
        for script_id in content.get("scripts_active") or ():
            cell(script_id)
        index = len(self.per_session)
        if ruptures:
            self.ruptures.take(index, number, day, note_id, ruptures)
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
            "ruptures": self.ruptures.result(total),
        }


def _pervasiveness(total: int, tallies: list[tuple], scripts: dict) -> dict:
    """Per component: each tag and each script's component, episodes containing it ÷ all."""
    result: dict[str, Any] = {"label": PERVASIVENESS_LABEL, "episodes": total}
    for component, (_, _, tag_counts, script_counts) in zip(COMPONENTS, tallies, strict=True):
        rows = [
            {"kind": "tag", "value": tag, "episodes": n, "share": share(n, total)}
            for tag, n in tag_counts.items()
        ] + [
            {
                "kind": "script",
                "script_id": sid,
                "value": scripts[sid].name,
                "episodes": n,
                "share": share(n, total),
            }
            for sid, n in script_counts.items()
        ]
        # Stable: ties keep the order in which they were first met.
        rows.sort(key=lambda r: (-r["episodes"], r["kind"], r["value"].casefold()))
        result[component] = rows
    return result
