"""Theme history as CSV (one row per script per session) and as an SVG chart.

The SVG is written here by hand, not with a plotting library: the chart is a grid of
marks, labels and a legend (a few hundred lines of plotting API would buy nothing), and
owning the writer means every piece of text passes through one escaping function
(xml.sax.saxutils), nothing external is referenced and no script can ever appear. It is
also fast enough for a thousand sessions and adds no dependency.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from practice.measures.lanes import (
    lanes_height,
    score_cells,
    score_header,
    score_lanes_svg,
    score_only_rows,
)

CSV_COLUMNS = (
    "script_id",  # the surviving script (merged scripts are folded in)
    "script_name",
    "script_status",
    "session_date",  # ISO date of the session
    "session_number",  # attended-session count (or note order without appointments)
    "note_id",
    "episodes",  # relationship episodes linked to the script in this session
    "figure_roles",  # roles it appeared with, ";"-separated, e.g. "father;partner"
    "in_transference",  # "yes" when it showed up with the therapist
    "enacted",  # "yes" when an enactment was linked to it
    "ruptures",  # ruptures linked to it
    "active_only",  # "yes" when only listed in scripts_active
)
# A spreadsheet treats cells starting with these as formulas (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
# Where a spreadsheet may cut a cell: the field separator of any locale (`,`, `;` in
# German and other European settings, tab) and line breaks. Fields holding any of them
# are quoted, and every part that would start a cell after such a cut is neutralised too:
# a quote only protects in the locale whose separator the file uses.
_CUT = re.compile("([,;\t\r\n])")
_NEEDS_QUOTES = re.compile('[,;"\t\r\n]').search
_MAY_BE_FORMULA = re.compile("[=+\\-@\t\r\n]").search
# Excel on Windows reads a CSV as UTF-8 only when it starts with the byte-order mark.
BOM = "\ufeff"


def _formula_like(part: str) -> bool:
    return part.lstrip(' "').startswith(FORMULA_STARTS)


def csv_safe(value) -> str:
    """The cell as text, with ' before it, and before every part after a `,` `;` tab or
    line break, that a spreadsheet could run as a formula."""
    text = "" if value is None else str(value)
    if not _MAY_BE_FORMULA(text):
        return text  # the common case, and fast
    if _formula_like(text):
        text = "'" + text
    parts = _CUT.split(text)  # separators at odd indexes
    parts[2::2] = ["'" + part if _formula_like(part) else part for part in parts[2::2]]
    return "".join(parts)


def _cell(value) -> str:
    """One CSV field: formula-safe, quoted when it holds a separator of any locale."""
    text = csv_safe(value)
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES(text) else text


def history_csv(history: dict) -> str:
    """CSV text (with a byte-order mark): a header row, then one row per script per
    session where it was observed."""
    # Written by hand rather than with csv.writer, which spent more time scanning a
    # thousand sessions' ids character by character than the history took to compute;
    # csv.reader reads back exactly the cells written (tests check it).
    extra = score_header(history)  # one column per instrument with scores (measures)
    out = [BOM + ",".join((*CSV_COLUMNS, *extra))]
    yes = {True: "yes", False: "no"}
    scores, blank = score_cells(history), "," * len(extra)
    for script in history["scripts"]:
        head = f"{_cell(script['script_id'])},{_cell(script['name'])},{_cell(script['status'])}"
        out.extend(
            f"{head},{_cell(t['date'])},{t['session_number']},{_cell(t['note_id'])},"
            f"{t['episodes']},{_cell(';'.join(t['figure_roles']))},{yes[t['in_transference']]},"
            f"{yes[t['enacted']]},{t['ruptures']},{yes[t['active_only']]}"
            f"{scores.get(t['note_id'], blank)}"
            for t in script["timeline"]
        )
    if extra:  # scores of sessions no script row carries
        written = {t["note_id"] for script in history["scripts"] for t in script["timeline"]}
        out.extend(score_only_rows(history, written, len(CSV_COLUMNS)))
    out.append("")
    return "\r\n".join(out)


# --- SVG -----------------------------------------------------------------------------

LABEL_WIDTH = 300
ROW_HEIGHT = 30
TOP = 64
PLOT_WIDTH = 1000
MAX_LABEL_CHARS = 40
EPISODE = "#0072B2"  # Okabe-Ito blue: stories about others
THERAPIST = "#D55E00"  # vermillion: with the therapist
ACTIVE = "#8a8a8a"
RUPTURE = "#CC79A7"  # reddish purple: a rupture in the alliance
FONT = "font-family='system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif'"


def _text(x, y, content, size=12, anchor="start", extra="") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}'{extra}>"
        f"{escape(str(content))}</text>"
    )


def _short(name: str) -> str:
    return name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "…"


def _mark(cx: float, cy: float, r: float, entry: dict) -> list[str]:
    """One session of one script: circle (stories about others), diamond (with the
    therapist; a dot inside when stories too), frame (enacted), triangle (rupture)."""
    parts = []
    others = any(role != "therapist" for role in entry["figure_roles"])
    if entry["in_transference"]:
        d = r * 1.35
        parts.append(
            f"<path d='M{cx:.1f} {cy - d:.1f} L{cx + d:.1f} {cy:.1f} "
            f"L{cx:.1f} {cy + d:.1f} L{cx - d:.1f} {cy:.1f} Z' fill='{THERAPIST}'/>"
        )
        if others:
            parts.append(
                f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='{r * 0.5:.1f}' fill='{EPISODE}'/>"
            )
    elif entry["active_only"]:
        parts.append(
            f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='{r * 0.7:.1f}' fill='none' "
            f"stroke='{ACTIVE}' stroke-width='1.5'/>"
        )
    else:
        parts.append(f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='{r:.1f}' fill='{EPISODE}'/>")
    if entry["enacted"]:
        s = r * 1.7
        parts.append(
            f"<rect x='{cx - s:.1f}' y='{cy - s:.1f}' width='{2 * s:.1f}' height='{2 * s:.1f}' "
            "fill='none' stroke='#000' stroke-width='1.6'/>"
        )
    if entry["ruptures"]:
        t, top = r * 0.8, cy + r * 1.9
        parts.append(
            f"<path d='M{cx - t:.1f} {top + t:.1f} L{cx + t:.1f} {top + t:.1f} "
            f"L{cx:.1f} {top - t * 0.6:.1f} Z' fill='{RUPTURE}'/>"
        )
    return parts


def _tick_every(count: int, col: float) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if step * col >= 26:
            return step
    return max(1, count // 10)


def history_svg(history: dict, title: str = "Theme history") -> str:
    """An SVG chart: scripts as rows, sessions as columns, marks for how each appeared."""
    sessions = history["per_session"]
    scripts = history["scripts"]
    n = max(len(sessions), 1)
    col = min(36.0, max(3.0, PLOT_WIDTH / n))
    plot_w = col * n
    width = LABEL_WIDTH + plot_w + 150
    rows_h = ROW_HEIGHT * max(len(scripts), 1)
    axis_y = TOP + rows_h + lanes_height(history)
    height = axis_y + 110
    radius = max(1.5, min(7.0, col * 0.3))
    column_of = {s["note_id"]: i for i, s in enumerate(sessions)}
    x_of = lambda i: LABEL_WIDTH + col * (i + 0.5)  # noqa: E731
    column_x = [f"{x_of(i):.1f}" for i in range(len(sessions))]
    out = [
        "<svg xmlns='http://www.w3.org/2000/svg' "
        f"width='{width:.0f}' height='{height:.0f}' viewBox='0 0 {width:.0f} {height:.0f}' "
        f"{FONT} role='img'>",
        f"<title>{escape(title)}</title>",
        f"<rect width='{width:.0f}' height='{height:.0f}' fill='#fff'/>",
        _text(16, 26, title, size=17, extra=" font-weight='600'"),
        _text(
            16,
            46,
            f"{history['sessions']} sessions, {history['episodes']} episodes"
            + (
                f", {history['from'] or '…'} to {history['to'] or '…'}"
                if history["from"] or history["to"]
                else ""
            ),
            size=12,
            extra=" fill='#555'",
        ),
        _text(LABEL_WIDTH + plot_w + 12, TOP - 8, "seen · rate", size=11, extra=" fill='#555'"),
    ]
    for row, script in enumerate(scripts):
        y = TOP + row * ROW_HEIGHT
        cy = y + ROW_HEIGHT / 2
        if row % 2 == 0:
            out.append(
                f"<rect x='8' y='{y}' width='{width - 16:.0f}' height='{ROW_HEIGHT}' "
                "fill='#f3f5f8'/>"
            )
        out.append(
            f"<g><title>{escape(script['name'])} ({escape(script['status'])})</title>"
            + _text(16, cy + 4, _short(script["name"]), size=13)
            + "</g>"
        )
        rate = script["recurrence_rate"]
        out.append(
            _text(
                LABEL_WIDTH + plot_w + 12,
                cy + 4,
                f"{script['sessions_observed']} · {'—' if rate is None else f'{rate:.0%}'}",
                size=12,
                extra=" fill='#333'",
            )
        )
        # The plain circle (a story about someone, nothing else) is most marks: its text
        # is assembled from coordinates formatted once, exactly as _mark would write it.
        plain = f"' cy='{cy:.1f}' r='{radius:.1f}' fill='{EPISODE}'/>\n</g>"
        for entry in script["timeline"]:
            i = column_of.get(entry["note_id"])
            if i is None:
                continue
            title = f"<g><title>{escape(_describe(entry))}</title>"
            if not (
                entry["in_transference"]
                or entry["active_only"]
                or entry["enacted"]
                or entry["ruptures"]
            ):
                out.append(f"{title}\n<circle cx='{column_x[i]}{plain}")
            else:
                out.append(title)
                out.extend(_mark(x_of(i), cy, radius, entry))
                out.append("</g>")
    out.extend(score_lanes_svg(history, TOP + rows_h, width, LABEL_WIDTH, col, column_of, column_x))
    out.append(
        f"<line x1='{LABEL_WIDTH}' y1='{axis_y + 2}' x2='{LABEL_WIDTH + plot_w:.1f}' "
        f"y2='{axis_y + 2}' stroke='#333'/>"
    )
    step = _tick_every(n, col)
    for i, s in enumerate(sessions):
        last_apart = i == len(sessions) - 1 and (i % step) * col >= 26
        if i % step and not last_apart:
            continue
        x = x_of(i)
        out.append(
            f"<line x1='{x:.1f}' y1='{axis_y + 2}' x2='{x:.1f}' y2='{axis_y + 7}' stroke='#333'/>"
        )
        out.append(_text(x, axis_y + 20, s["session_number"], size=11, anchor="middle"))
    if sessions:
        out.append(_text(16, axis_y + 20, "session", size=11, extra=" fill='#555'"))
        out.append(_text(16, axis_y + 36, "date", size=11, extra=" fill='#555'"))
        for i in _date_ticks(sessions, step):
            out.append(
                _text(
                    x_of(i),
                    axis_y + 36,
                    sessions[i]["date"],
                    size=10,
                    anchor="middle",
                    extra=" fill='#555'",
                )
            )
    out.extend(_legend(16, axis_y + 64))
    out.append("</svg>")
    return "\n".join(out)


def _describe(entry: dict) -> str:
    """Tooltip of one mark: session, date, with whom, and how."""
    how = [", ".join(entry["figure_roles"]) or "marked active"]
    if entry["in_transference"]:
        how.append("with the therapist")
    if entry["enacted"]:
        how.append("enacted")
    if entry["ruptures"]:
        how.append(f"{entry['ruptures']} rupture(s)")
    return f"session {entry['session_number']}, {entry['date']}: " + "; ".join(how)


def _date_ticks(sessions: list[dict], step: int) -> list[int]:
    """First, last and about every fifth labelled session, keeping dates apart."""
    last = len(sessions) - 1
    picks = [i for i in range(0, last + 1, step * 4)]
    if picks and picks[-1] != last and last - picks[-1] >= step * 2:
        picks.append(last)
    return picks or [0]


def _legend(x: float, y: float) -> list[str]:
    plain = {"figure_roles": [], "in_transference": False, "active_only": False}
    plain |= {"enacted": False, "ruptures": 0}
    items = [
        ({**plain, "figure_roles": ["other"]}, "in a story about someone"),
        ({**plain, "in_transference": True}, "with the therapist (transference)"),
        ({**plain, "in_transference": True, "figure_roles": ["other"]}, "both"),
        ({**plain, "figure_roles": ["other"], "enacted": True}, "enacted"),
        ({**plain, "figure_roles": ["other"], "ruptures": 1}, "rupture"),
        ({**plain, "active_only": True}, "marked active, no episode"),
    ]
    out = []
    for entry, label in items:
        out.extend(_mark(x + 8, y, 6, entry))
        out.append(_text(x + 22, y + 4, label, size=12))
        x += 40 + 6.4 * len(label)
    return out
