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
    sessions = [s for s in history["per_session"] if s.get("scores")]
    if len(ids) == 1:  # one instrument (the usual case): one cell, no join per session
        (only,) = ids
        return {s["note_id"]: f",{s['scores'].get(only, '')}" for s in sessions}
    return {s["note_id"]: "".join([f",{s['scores'].get(i, '')}" for i in ids]) for s in sessions}


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
    history: dict, top: float, width: float, left: float, col: float, column_of: dict, column_x
) -> list[str]:
    """One lane per instrument from `top`: the score of each session in its column, joined
    by a line, the caseness threshold dashed, a risk item marked "!". `column_of`: note id
    → column; `column_x`: each column's x as the chart writes it (one decimal)."""
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
        out.extend(_points(lane, y, colour, column_of, column_x, labelled=col >= 18))
        y += LANE_HEIGHT + LANE_GAP
    return out


def _points(lane: dict, y: float, colour: str, column_of: dict, column_x, labelled: bool):
    """The lane's line and its marked points (one string each), as lanes of 300 scores
    are drawn on every chart request: what depends only on a score's value (its height,
    its label, the words after its date) is written once per value, not once per point;
    the only words from a definition file (the lane's name, the band labels) are escaped
    there too."""
    low, high = lane["range"]
    inner_top, inner_h, span = y + 14, LANE_HEIGHT - 24, (high - low) or 1
    name = escape(lane["name"])
    risk_y = f"{y + LANE_HEIGHT - 3:.1f}"
    heights: dict = {}  # score → (its y, its label's y), written
    words: dict = {}  # (score, band, change, reliable, recovered, risk) → the words
    path, marks = [], []
    for score in lane["scores"]:
        column = column_of.get(score["note_id"])
        if column is None:
            continue
        x, value = column_x[column], score["score"]
        height = heights.get(value)
        if height is None:
            # y_of spelled out: the same arithmetic, so the same figures.
            py = inner_top + inner_h * (1 - (value - low) / span)
            height = heights[value] = (f"{py:.1f}", f"{py - 6:.1f}", escape(str(value)))
        y_text, label_y, label = height
        path.append(f"{x},{y_text}")
        risk = bool(score["risk_items"])
        said = (
            value,
            score["band"],
            score["change_from_first"],
            score["reliable_change"],
            score["recovered"],
            risk,
        )
        tail = words.get(said)
        if tail is None:
            _, band, change, reliable, recovered, _ = said
            tail = words[said] = (
                f": {name} {value} ({escape(band)}), {change:+d} from the first"
                + (f", reliable {reliable}" if reliable else "")
                + (", recovered" if recovered else "")
                + (", risk item answered above threshold" if risk else "")
                + "</title>"
            )
        marks.append(
            f"<g><title>session {score['session_number']}, {score['date']}{tail}"
            f"<circle cx='{x}' cy='{y_text}' r='3.5' fill='{colour}'/>"
            + (
                f"<text x='{x}' y='{label_y}' font-size='10' text-anchor='middle'>{label}</text>"
                if labelled
                else ""
            )
            + (
                f"<text x='{x}' y='{risk_y}' font-size='12' text-anchor='middle' "
                f"fill='{RISK}' font-weight='700'>!</text>"
                if risk
                else ""
            )
            + "</g>"
        )
    if len(path) > 1:
        points = " ".join(path)
        yield f"<polyline points='{points}' fill='none' stroke='{colour}' stroke-width='2'/>"
    yield from marks


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
