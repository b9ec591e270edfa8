"""Scores in the theme history's files: the CSV's score columns and the SVG's score lanes
under the scripts, on the same session axis (practice/themes/formats.py calls these).

Every text passes through xml.sax.saxutils.escape, as in the rest of the chart; colour
is never the only signal (each lane is labelled, each point carries its number).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

LANE_HEIGHT = 74
LANE_GAP = 10
LANE_COLOURS = ("#009E73", "#E69F00", "#56B4E9", "#0072B2", "#CC79A7")  # Okabe-Ito
RISK = "#B00020"


def lanes_height(history: dict) -> int:
    """The height the score lanes take under the script rows (0 without scores)."""
    lanes = history.get("measures") or []
    return (LANE_HEIGHT + LANE_GAP) * len(lanes) + (LANE_GAP if lanes else 0)


def score_header(history: dict) -> list[str]:
    """One CSV column per instrument with scores in the window: `<instrument>_score`."""
    return [f"{lane['instrument']}_score" for lane in history.get("measures") or []]


def score_cells(history: dict) -> dict:
    """Note id → the row's score cells (",14,9"); "" for a session without scores."""
    ids = [lane["instrument"] for lane in history.get("measures") or []]
    if not ids:
        return {}
    return {
        session["note_id"]: "".join(f",{session['scores'].get(i, '')}" for i in ids)
        for session in history["per_session"]
        if session.get("scores")
    }


def score_only_rows(history: dict, written: set, width: int) -> list[str]:
    """CSV rows for scores no script row carries: sessions of the window where no script
    was observed, and scores on sessions without a note (empty script and note fields).
    `width`: the number of columns before the score columns."""
    lanes = history.get("measures") or []
    if not lanes:
        return []
    ids = [lane["instrument"] for lane in lanes]
    rows: dict[tuple, dict] = {}
    for lane in lanes:
        for score in lane["scores"]:
            if score["note_id"] in written:
                continue
            key = (score["date"], score["session_number"] or 0, score["note_id"] or "")
            rows.setdefault(key, {})[lane["instrument"]] = score["score"]
    out = []
    for (day, number, note_id), scores in sorted(rows.items()):
        cells = ["", "", "", day, str(number or ""), note_id] + [""] * (width - 6)
        out.append(",".join(cells) + "".join(f",{scores.get(i, '')}" for i in ids))
    return out


def _text(x, y, content, size=11, anchor="start", extra="") -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}'{extra}>"
        f"{escape(str(content))}</text>"
    )


def score_lanes_svg(
    history: dict, top: float, width: float, left: float, col: float, column_of: dict, x_of
) -> list[str]:
    """One lane per instrument from `top`: the score of each session in its column, joined
    by a line, the caseness threshold dashed, a risk item marked "!"."""
    out = []
    y = top + LANE_GAP
    for n, lane in enumerate(history.get("measures") or []):
        colour = LANE_COLOURS[n % len(LANE_COLOURS)]
        low, high = lane["range"]
        inner_top, inner_h = y + 14, LANE_HEIGHT - 24

        def y_of(value, inner_top=inner_top, inner_h=inner_h, low=low, high=high) -> float:
            return inner_top + inner_h * (1 - (value - low) / ((high - low) or 1))

        out.append(
            f"<rect x='8' y='{y:.1f}' width='{width - 16:.0f}' height='{LANE_HEIGHT}' "
            "fill='#fbfbf7' stroke='#d8d8d0'/>"
        )
        out.append(_text(16, y + 30, lane["name"], size=13, extra=" font-weight='600'"))
        out.append(_text(16, y + 46, f"score {low} to {high}", extra=" fill='#555'"))
        if lane["caseness"] is not None:
            out.append(
                _text(16, y + 61, f"caseness ≥ {lane['caseness']} (dashed)", extra=" fill='#555'")
            )
            cy, right = y_of(lane["caseness"]), left + col * max(len(column_of), 1)
            out.append(
                f"<line x1='{left:.1f}' y1='{cy:.1f}' x2='{right:.1f}' "
                f"y2='{cy:.1f}' stroke='#777' stroke-dasharray='4 3'/>"
            )
        # One string per point; the only words from a definition file (the lane's name and
        # the band labels) are escaped once per lane, not once per score.
        name, bands = escape(lane["name"]), {}
        # Each point's coordinates formatted once, for the line and for its circle (y_of
        # spelled out: the same arithmetic, so the same figures).
        span = (high - low) or 1
        points = []
        for s in lane["scores"]:
            if s["note_id"] in column_of:
                py = inner_top + inner_h * (1 - (s["score"] - low) / span)
                points.append((f"{x_of(column_of[s['note_id']]):.1f}", f"{py:.1f}", py, s))
        if len(points) > 1:
            path = " ".join(f"{x},{y_text}" for x, y_text, _, _ in points)
            out.append(
                f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'/>"
            )
        labelled = col >= 18
        risk_y, risk_extra = y + LANE_HEIGHT - 3, f" fill='{RISK}' font-weight='700'"
        for x, y_text, py, score in points:
            band = bands.get(score["band"])
            if band is None:
                band = bands[score["band"]] = escape(score["band"])
            reliable = score["reliable_change"]
            words = (
                f"session {score['session_number']}, {score['date']}: {name} "
                f"{score['score']} ({band}), {score['change_from_first']:+d} from the first"
                + (f", reliable {reliable}" if reliable else "")
                + (", recovered" if score["recovered"] else "")
                + (", risk item answered above threshold" if score["risk_items"] else "")
            )
            out.append(
                f"<g><title>{words}</title>"
                f"<circle cx='{x}' cy='{y_text}' r='3.5' fill='{colour}'/>"
                + (
                    _text(float(x), py - 6, score["score"], size=10, anchor="middle")
                    if labelled
                    else ""
                )
                + (
                    _text(float(x), risk_y, "!", size=12, anchor="middle", extra=risk_extra)
                    if score["risk_items"]
                    else ""
                )
                + "</g>"
            )
        y += LANE_HEIGHT + LANE_GAP
    return out


def score_lanes(history: dict, columns: dict) -> list[tuple[dict, list]]:
    """For the theme history page: each lane with one cell per session column, None or
    (score, band, reliable change, risk items answered)."""
    lanes = []
    for lane in history.get("measures") or []:
        cells: list = [None] * len(columns)
        for score in lane["scores"]:
            column = columns.get(score["note_id"])
            if column is not None:
                cells[column] = (
                    score["score"],
                    score["band"],
                    score["reliable_change"],
                    bool(score["risk_items"]),
                )
        lanes.append((lane, cells))
    return lanes
