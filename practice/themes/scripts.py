"""One script's theme history as sessions are taken in: its timeline, figure roles,
transference, enactments, ruptures and negative-response trend (see history.py)."""

from __future__ import annotations

from practice.themes.inputs import ScriptInput

WHEN_VALUES = ("in_session", "current", "past", "childhood")
MIN_TREND_POINTS = 4


class Valences:
    """Recorded valences of episodes' responses: of the other and of the self, how many
    were rated (negative or positive) and how many of those were negative."""

    __slots__ = ("negative_of_other", "negative_of_self", "rated_of_other", "rated_of_self")

    def __init__(self):
        self.negative_of_other = self.rated_of_other = 0
        self.negative_of_self = self.rated_of_self = 0


class Cell:
    """One script in the session being added (dropped once the session is taken in)."""

    __slots__ = ("enactments", "episodes", "figures", "roles", "ruptures")
    __slots__ += ("therapist_episode", "transference", "valences")

    def __init__(self):
        self.episodes = self.enactments = self.ruptures = 0
        self.roles: list[str] = []
        self.figures: list[str] = []
        self.therapist_episode = self.transference = False
        self.valences = Valences()


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


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class ScriptTheme:
    """One surviving script's history so far: its timeline and running totals."""

    __slots__ = ("by_role", "enactments", "figures", "first", "last", "ruptures", "script")
    __slots__ += ("share_of_other", "share_of_self", "therapist", "timeline", "valences")
    __slots__ += ("when", "with_therapist")

    def __init__(self, script: ScriptInput, therapist: str):
        self.script, self.therapist = script, therapist
        self.by_role: dict[str, int] = {}
        self.figures: set[str] = set()
        self.when: dict[str, int] = {}
        self.timeline: list[dict] = []
        # (session number, negative share) per session with a rated response: the trend
        self.share_of_other: list[tuple[int, float]] = []
        self.share_of_self: list[tuple[int, float]] = []
        self.valences = Valences()  # totals over the sessions taken in
        self.with_therapist = self.enactments = self.ruptures = 0
        self.first = self.last = None  # (date, number, note id, index in the window)

    def take(self, c: Cell, day: str, number: int, note_id: str, index: int) -> None:
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
        seen, total = c.valences, self.valences
        if seen.rated_of_other:
            total.negative_of_other += seen.negative_of_other
            total.rated_of_other += seen.rated_of_other
            self.share_of_other.append((number, seen.negative_of_other / seen.rated_of_other))
        if seen.rated_of_self:
            total.negative_of_self += seen.negative_of_self
            total.rated_of_self += seen.rated_of_self
            self.share_of_self.append((number, seen.negative_of_self / seen.rated_of_self))
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
        script, first, last, counted = self.script, self.first, self.last, self.valences
        observed = len(self.timeline)
        return {
            "script_id": str(script.script_id),
            "name": script.name,
            "status": script.status,
            "sessions_observed": observed,
            "first_seen": seen_point(first),
            "last_seen": seen_point(last),
            "sessions_since_last_seen": (total - 1 - last[3]) if last else None,
            "recurrence_rate": share(observed, total - first[3]) if first else None,
            "by_figure_role": dict(sorted(self.by_role.items())),
            "distinct_figures": len(self.figures),
            "past_vs_current": {w: self.when.get(w, 0) for w in (*WHEN_VALUES, "unspecified")},
            "transference_count": self.with_therapist,
            "enactment_count": self.enactments,
            "rupture_count": self.ruptures,
            "negative_response_share": {
                "of_other": share(counted.negative_of_other, counted.rated_of_other),
                "of_self": share(counted.negative_of_self, counted.rated_of_self),
                "trend": {
                    "of_other": least_squares_slope(self.share_of_other),
                    "of_self": least_squares_slope(self.share_of_self),
                },
            },
            "timeline": self.timeline,
        }


def seen_point(seen: tuple | None) -> dict | None:
    if seen is None:
        return None
    return {"date": seen[0], "session_number": seen[1], "note_id": seen[2]}
