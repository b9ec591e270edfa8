"""Rupture and repair across the window: ruptures by type and by resolution, and a plain
flag for the clinician (an aid, not a score).

The flag is raised when, in the last four sessions of the window, a confrontation
rupture was left unresolved, or two or more ruptures were left unresolved. "Unresolved"
is the note's own `resolution: unresolved` (a partial repair is not unresolved, and a
rupture without a resolution is counted as "unrecorded", never as unresolved). Both
conditions look at the last four sessions: a note records a rupture's resolution in the
session it happened, and nothing later marks it repaired, so a condition over the whole
window would stay raised for ever once met.
"""

from __future__ import annotations

RUPTURE_TYPES = ("withdrawal", "confrontation", "mixed")
RESOLUTIONS = ("unresolved", "partial", "resolved")
UNRECORDED = "unrecorded"
RECENT_SESSIONS = 4
UNRESOLVED_IN_RECENT = 2
FLAG_LABEL = "An aid for the clinician's attention, not a score or a risk rating."


class RuptureTally:
    """Counts ruptures as the theme history takes in sessions (`take`, in session order)."""

    __slots__ = ("by_type", "recent", "total")

    def __init__(self):
        self.by_type: dict[str, dict[str, int]] = {}
        self.total = 0
        # Per session with a rupture: (index in the window, number, date, note id,
        # [(type, resolution)]).
        self.recent: list[tuple[int, str, str, list[tuple[str, str]]]] = []

    def take(self, index: int, number: int, day: str, note_id: str, ruptures) -> None:
        """The ruptures (dicts) of the `index`-th session of the window."""
        seen = []
        for rupture in ruptures:
            kind = rupture.get("type")
            kind = kind if kind in RUPTURE_TYPES else UNRECORDED
            resolution = rupture.get("resolution")
            resolution = resolution if resolution in RESOLUTIONS else UNRECORDED
            counts = self.by_type.setdefault(kind, {})
            counts[resolution] = counts.get(resolution, 0) + 1
            seen.append((kind, resolution))
        self.total += len(seen)
        if seen:
            self.recent.append((index, number, day, note_id, seen))

    def result(self, sessions: int) -> dict:
        """By type and resolution over the window, and the flag over its last four sessions."""
        by_resolution: dict[str, int] = {}
        for counts in self.by_type.values():
            for resolution, n in counts.items():
                by_resolution[resolution] = by_resolution.get(resolution, 0) + n
        first_recent = sessions - RECENT_SESSIONS
        unresolved = [
            {"session_number": number, "date": day, "note_id": note_id, "type": kind}
            for index, number, day, note_id, seen in self.recent
            if index >= first_recent
            for kind, resolution in seen
            if resolution == "unresolved"
        ]
        reasons = []
        if any(entry["type"] == "confrontation" for entry in unresolved):
            reasons.append("A confrontation rupture in the last four sessions is unresolved.")
        if len(unresolved) >= UNRESOLVED_IN_RECENT:
            reasons.append(f"{len(unresolved)} ruptures in the last four sessions are unresolved.")
        return {
            "total": self.total,
            "by_type": {kind: dict(counts) for kind, counts in sorted(self.by_type.items())},
            "by_resolution": dict(sorted(by_resolution.items())),
            "flag": {
                "raised": bool(reasons),
                "reasons": reasons,
                "unresolved_recent": unresolved,
                "label": FLAG_LABEL,
            },
        }
