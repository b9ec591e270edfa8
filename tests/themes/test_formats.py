"""CSV and SVG renderings of the theme history."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from practice.themes.formats import BOM, CSV_COLUMNS, csv_safe, history_csv, history_svg
from practice.themes.history import theme_history
from practice.themes.inputs import FigureInput, NoteInput, ScriptInput

pytestmark = pytest.mark.pure  # plain values in, plain values out: no database

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '=HYPERLINK("http://x")<script>alert(1)</script> & \'quote\' "dq" ]]>'


def build(names=("Braces for criticism", "Rescues, then resents"), weeks=6):
    figures = [FigureInput("fa", "father"), FigureInput("pa", "partner")]
    scripts = [ScriptInput(f"s{i}", name, "working") for i, name in enumerate(names)]
    notes = []
    for week in range(weeks):
        content = {
            "relationship_episodes": [
                {"figure_id": "fa" if week % 2 else "pa", "script_id": "s0", "when": "current"}
            ]
        }
        if week == 2:
            content["transference"] = {"present": True, "script_id": "s0"}
        if week == 4:
            content["ruptures"] = [{"type": "withdrawal", "script_id": "s0"}]
        if week == 3 and len(scripts) > 1:
            content["enactments"] = [{"summary": "late again", "script_id": "s1"}]
        notes.append(
            NoteInput(f"n{week}", date(2026, 1, 5) + timedelta(weeks=week), "signed", content)
        )
    return theme_history(notes, scripts, figures, [])


def rows_of(text, delimiter=","):
    """The cells as a spreadsheet splitting on `delimiter` reads them (after the BOM)."""
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=delimiter))


def test_csv_header_and_one_row_per_script_per_session():
    rows = rows_of(history_csv(build()))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert len(body) == 6 + 1  # s0 in every session, s1 enacted once
    third = next(r for r in body if r["script_id"] == "s0" and r["session_number"] == "3")
    assert third["in_transference"] == "yes"
    assert third["figure_roles"] == "partner;therapist"
    enacted = next(r for r in body if r["script_id"] == "s1")
    assert (enacted["enacted"], enacted["episodes"], enacted["figure_roles"]) == ("yes", "0", "")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_formulas(start):
    assert csv_safe(f"{start}1+1") == f"'{start}1+1"


def test_csv_script_names_cannot_inject():
    rows = rows_of(history_csv(build(names=(HOSTILE, "-2+3", "@SUM(A1)"))))
    names = {r[1] for r in rows[1:]}
    assert names == {"'" + HOSTILE, "'-2+3"}  # the third script is never observed
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def _one_row(text: str) -> tuple[dict, list]:
    """A history whose every text cell is `text`, and the cells csv_safe makes of it."""
    entry = {"date": text or "2026-01-05", "session_number": 3, "note_id": text, "episodes": 1}
    entry |= {"figure_roles": [text, "father"], "in_transference": True, "enacted": False}
    entry |= {"ruptures": 0, "active_only": False}
    history = {"scripts": [{"script_id": text, "name": text, "status": text, "timeline": [entry]}]}
    row = [text, text, text, entry["date"], 3, text, 1, f"{text};father", "yes", "no", 0, "no"]
    return history, [csv_safe(value) for value in row]


@pytest.mark.parametrize(
    "text",
    [
        "a,b",
        'say "hi"',
        "two\nlines",
        "cr\ronly",
        "\r\n",
        '"',
        " lead",
        "ä,ö",
        "plain",
        "",
        "Größe",
    ],
)
def test_csv_reads_back_cell_for_cell(text):
    """history_csv writes rows by hand; csv.reader must read back exactly its cells."""
    history, cells = _one_row(text)
    assert rows_of(history_csv(history)) == [list(CSV_COLUMNS), [str(c) for c in cells]]


def test_csv_quotes_every_separator_of_every_locale():
    """csv.writer quotes fields with `,`; a `;` or tab field is quoted too (one cell in a
    German Excel as well)."""
    text = history_csv(build())
    assert ',"partner;therapist",' in text and ',"Rescues, then resents",' in text
    for separator in SEPARATORS:
        history, _cells = _one_row(f"x{separator}y")
        assert f',"x{separator}y",' in history_csv(history)


# Cells an attacker might name a script, each a formula once split on some separator.
ATTACKS = [
    "a;=1+1;b",
    "a,=1+1,b",
    "a\t=1+1\tb",
    "x; +cmd|' /C calc'!A0",
    'a;"=HYPERLINK(""http://x"")',
    "a;-2+3",
    "a;@SUM(A1)",
    "a\r\n=1+1",
    "=1+1;=2+2,=3+3\t=4+4",
    "a ;  @x",
]
SEPARATORS = (",", ";", "\t")


def _formula_cells(text: str, separator: str) -> list[str]:
    """Cells that would start a formula, reading `text` split on `separator` both as a
    CSV parser (quotes honoured) and naively (a locale that ignores the file's quoting)."""
    body = text.removeprefix(BOM)
    cells = [c for row in csv.reader(io.StringIO(body), delimiter=separator) for c in row]
    cells += [c for line in body.splitlines() for c in line.split(separator)]
    return [c for c in cells if c.lstrip(' "').startswith(("=", "+", "-", "@"))]


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("separator", SEPARATORS)
def test_csv_cells_are_safe_split_on_any_separator(attack, separator):
    text = history_csv(build(names=(attack, attack + separator + "=9")))
    assert _formula_cells(text, separator) == []
    # The comma reading shows each name whole: neutralised (only ' added), nothing lost.
    names = {row[1] for row in rows_of(text)[1:]}
    assert names == {csv_safe(attack), csv_safe(attack + separator + "=9")}
    assert all(csv_safe(n).replace("'", "") == n.replace("'", "") for n in ATTACKS)


def test_the_attacks_would_work_without_neutralising():
    """The check above can fail: the raw names, written as csv.writer would, do."""
    for attack in ATTACKS:
        out = io.StringIO()
        csv.writer(out).writerow(["id", attack])
        assert any(_formula_cells(BOM + out.getvalue(), sep) for sep in SEPARATORS), attack


def test_csv_starts_with_a_byte_order_mark_for_excel():
    """Excel on Windows reads "Größe" right only from a UTF-8 file with a BOM."""
    data = history_csv(build(names=("Größe",))).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\xef\xbb\xbf") == 1
    assert "Größe" in data.decode("utf-8-sig")
    assert rows_of(data.decode("utf-8"))[0] == list(CSV_COLUMNS)


def test_csv_of_empty_history_is_just_the_header():
    empty = theme_history([], [], [], [])
    assert rows_of(history_csv(empty)) == [list(CSV_COLUMNS)]


def parse(svg: str):
    return ET.fromstring(svg)  # noqa: S314 (our own output, parsed to prove it is well-formed)


def test_svg_parses_and_escapes_names():
    svg = history_svg(build(names=(HOSTILE, "Waits to be chosen")), title="Theme <history>")
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    titles = " ".join(t.text or "" for t in root.iter(f"{SVG}title"))
    assert HOSTILE in titles  # the full name survives as text, escaped in the markup
    assert "<script>" not in svg and "<script" not in svg.replace("&lt;script", "")
    assert not list(root.iter(f"{SVG}script"))
    assert "Waits to be chosen" in texts
    assert "Theme <history>" in titles


def test_svg_has_no_external_references():
    svg = history_svg(build())
    root = parse(svg)
    for element in root.iter():
        for name, value in element.attrib.items():
            assert "href" not in name
            assert "url(" not in value and "http" not in value.replace(SVG[1:-1], "")
    assert not list(root.iter(f"{SVG}image")) and not list(root.iter(f"{SVG}foreignObject"))


def test_svg_marks_axis_and_legend():
    root = parse(history_svg(build()))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    for label in ("in a story about someone", "with the therapist (transference)"):
        assert label in texts
    assert {"enacted", "rupture", "both", "marked active, no episode"} <= set(texts)
    assert "session" in texts and "date" in texts
    assert {"1", "6"} <= set(texts)  # session numbers on the axis
    assert "2026-01-05" in texts
    diamonds = [p for p in root.iter(f"{SVG}path") if p.get("fill") == "#D55E00"]
    assert len(diamonds) == 3  # one in the chart (week 2), two in the legend
    frames = [r for r in root.iter(f"{SVG}rect") if r.get("stroke") == "#000"]
    assert len(frames) == 2  # the enactment and its legend entry
    ruptures = [p for p in root.iter(f"{SVG}path") if p.get("fill") == "#CC79A7"]
    assert len(ruptures) == 2  # week 4 and the legend
    tooltips = [t.text for t in root.iter(f"{SVG}title")]
    assert "session 5, 2026-02-02: partner; 1 rupture(s)" in tooltips
    assert "session 3, 2026-01-19: partner, therapist; with the therapist" in tooltips


def test_svg_truncates_long_names_but_keeps_them_in_the_tooltip():
    long_name = "Sets others up to criticise her achievements, then agrees with them"
    root = parse(history_svg(build(names=(long_name,))))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert any(t and t.endswith("…") and len(t) <= 40 for t in texts)
    assert any(long_name in (t.text or "") for t in root.iter(f"{SVG}title"))


def test_svg_of_empty_history_is_valid():
    root = parse(history_svg(theme_history([], [], [], [])))
    assert root.tag == f"{SVG}svg"


def test_svg_with_a_thousand_sessions_stays_bounded():
    root = parse(history_svg(build(weeks=1000)))
    assert float(root.get("width")) < 4000
    labels = [t.text for t in root.iter(f"{SVG}text") if (t.text or "").isdigit()]
    assert "1000" in labels and len(labels) < 120
