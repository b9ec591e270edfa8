"""Scores on the theme timeline: each form placed on the session axis of the theme history.

A form belongs to an appointment; the theme history's sessions are notes. A score sits in
the column of the note written for the same appointment, else of the first note of the
window on the same date, else in no column (it is still listed, with its session number
when the appointment was attended). Change from the first score, reliable change and
recovery are counted from the client's first score ever, as in the client's report, so
a window never makes a later score look like a first one.

One query, one data-key unwrap (the history's), and a few small decryptions: the forms carry
the series in chunks (series.py), so 300 scores open about ten values.
"""

from __future__ import annotations

import uuid
from datetime import date
from operator import itemgetter

import sqlalchemy as sa

from practice.database import raw
from practice.extensions import db
from practice.measures import scoring, series
from practice.measures.definitions import instruments
from practice.measures.models import FORM_COLUMNS, MeasureScore

# Built once: the theme history asks for it on every request. Ids come as the driver
# returns them: hex text from SQLite; from PostgreSQL the measure id as UUID text (what the
# history shows) and the appointment id as uuid.UUID.
# On PostgreSQL a form's sealed value comes with its row only where a reader opens it
# (series.py): the last form of each full chunk and the latest form of each instrument,
# counted in the order the chunks were written (recorded-at, then id). That is about ten
# values of 300 over the wire rather than every one (about a kilobyte each). The window
# runs over the plain columns, and only the rows it picks fetch their value (by primary
# key): carrying every sealed value through the window's sort cost the server more than
# the ten lookups (0.5 ms a history). SQLite reads in the process, where the window
# functions cost more than the bytes they save (1.7 ms against 0.6 ms for 300 rows), so
# there every row brings its value. Either way, when a chain was written some other way
# (two forms recorded at the same moment), load_scores asks for what it still lacks by id.
# Rows come ordered by session date only: on SQLite the client's date index gives that
# order for free and sorting the rest there took a temporary B-tree (0.5 ms for 300 rows);
# load_scores puts forms of the same date in order (recorded-at, then id), when any share
# one.
_WINDOW = {
    "partition_by": MeasureScore.instrument,
    "order_by": (MeasureScore.created_at, MeasureScore.id),
}
# The chunk size is written into the SQL (an int constant, no bound value), so the
# statement also runs on the driver as compiled (themes/loader.py pipelines it).
_OPENED = sa.or_(
    sa.func.row_number().over(**_WINDOW) % sa.literal_column(str(int(series.CHUNK)))
    == sa.literal_column("0"),
    sa.func.lead(sa.literal_column("1")).over(**_WINDOW).is_(None),  # the latest form
)
_OF_CLIENT = (
    MeasureScore.client_id == sa.bindparam("client_id"),
    MeasureScore.practice_id == sa.bindparam("practice_id"),
)
_FORMS = (
    sa.select(
        *FORM_COLUMNS,
        _OPENED.label("opened"),
    )
    .where(*_OF_CLIENT)
    .subquery("forms")
)
_SEALED = sa.select(MeasureScore.responses).where(MeasureScore.id == _FORMS.c.id)
# The measure id as UUID text: its key is that text without dashes, and no uuid.UUID is
# made for it and formatted twice.
_SCORES = sa.select(
    sa.cast(_FORMS.c.id, sa.Text),
    raw(_FORMS.c.appointment_id),
    raw(_FORMS.c.session_date),
    _FORMS.c.instrument,
    raw(_FORMS.c.created_at),
    sa.case((_FORMS.c.opened, _SEALED.scalar_subquery()), else_=sa.null()),
    raw(_FORMS.c.voided_at),
).order_by(_FORMS.c.session_date)
_SCORES_IN_PROCESS = (
    sa.select(
        raw(MeasureScore.id),
        raw(MeasureScore.appointment_id),
        raw(MeasureScore.session_date),
        MeasureScore.instrument,
        raw(MeasureScore.created_at),
        MeasureScore.responses,
        raw(MeasureScore.voided_at),
    )
    .where(*_OF_CLIENT)
    .order_by(MeasureScore.session_date)
)
_SESSION_ORDER = itemgetter(2, 4, 0)  # session date, recorded-at, id (as the driver gives)


def scores_query(connection) -> sa.Select:
    """The statement load_scores runs on `connection` (parameters client_id, practice_id):
    a caller may send it in a round trip of its own (the theme loader, pipelined)."""
    return _SCORES_IN_PROCESS if connection.dialect.name == "sqlite" else _SCORES


def load_scores(client, cipher, rows: list | None = None) -> list[tuple]:
    """(measure id as UUID text, appointment id as an int, ISO date, instrument, score,
    risk items) of every form of the client not voided, in session order, opening a few
    sealed values (series.py). `rows`: scores_query's rows when the caller already
    fetched them."""
    if rows is None:
        parameters = {"client_id": client.id, "practice_id": client.practice_id}
        connection = db.session.connection()
        rows = connection.execute(scores_query(connection), parameters).all()
    # One pass: each form's key (its id as 32 hex digits), the latest form of each
    # instrument, the sealed values that came with the rows (_SCORES: a reader's picks;
    # SQLite: all; any other value a chain asks for is read by id), and whether two forms
    # share a date (the query orders by date only).
    keys, latest, blobs, day_before, ordered = [], {}, {}, None, True
    for mid, _aid, day, instrument, recorded, blob, _voided in rows:
        k = mid if mid.__class__ is str and len(mid) == 32 else series.key(mid)
        keys.append(k)
        top = latest.get(instrument)
        if top is None or recorded > top[0] or (recorded == top[0] and k > top[1]):
            latest[instrument] = (recorded, k)
        if blob is not None:
            blobs[k] = blob
        if day_before is not None and day <= day_before:
            ordered = False
        day_before = day
    if not ordered:
        pairs = sorted(zip(rows, keys, strict=True), key=lambda pair: _SESSION_ORDER(pair[0]))
        rows, keys = [row for row, _ in pairs], [k for _, k in pairs]
    more = series.sealed_values_of(client)

    def sealed_values(wanted: list) -> dict:
        found = {k: blobs[k] for k in wanted if k in blobs}
        if len(found) < len(wanted):
            found.update(more([k for k in wanted if k not in found]))
        return found

    scores = series.open_chunks(cipher, [k for _, k in latest.values()], keys, sealed_values)
    out = []
    for k, (mid, aid, day, instrument, _recorded, _blob, voided_at) in zip(keys, rows, strict=True):
        if voided_at is not None:
            continue  # entered in error: read for the chunks it carries, never listed
        score, risk, _prorated = scores[k]
        out.append(
            (
                f"{k[:8]}-{k[8:12]}-{k[12:16]}-{k[16:20]}-{k[20:]}" if mid is k else str(mid),
                aid.int if aid.__class__ is uuid.UUID else _number(aid),
                day if day.__class__ is str else day.isoformat(),
                instrument,
                score,
                risk,
            )
        )
    return out


def _number(appointment_id) -> int | None:
    """An appointment id as its 128-bit number (uuid.UUID, 32 hex digits or UUID text):
    how the theme history matches a score to a note's appointment. uuid.UUID holds the
    number already; .hex would format it again for every session."""
    if appointment_id.__class__ is str:
        return int(
            appointment_id if len(appointment_id) == 32 else appointment_id.replace("-", ""), 16
        )
    return None if appointment_id is None else appointment_id.int


def attach_scores(
    history: dict,
    scores: list[tuple],
    note_appointments: dict,
    attended: list,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict:
    """Add `measures` (one lane per instrument) to `history`, and `scores`
    ({instrument: score}) to each of its sessions. `scores`: load_scores's rows;
    `note_appointments`: note id (text) → appointment id; `attended`: the client's
    attended appointments in order (inputs.AppointmentInput), which number the session
    of a score no note of the window carries. Each score's band, change from the first,
    reliable change, caseness and recovery as scoring.series_report has them."""
    sessions = history["per_session"]
    by_appointment = {}
    for i, session in enumerate(sessions):
        session["scores"] = {}
        aid = note_appointments.get(session["note_id"])
        if aid is not None:
            by_appointment[aid.int if aid.__class__ is uuid.UUID else _number(aid)] = i
    by_date = None  # ISO date → first session of that date, built at the first score off
    ranks = None  # appointment number → session number, built likewise
    low = date_from.isoformat() if date_from else ""
    high = date_to.isoformat() if date_to else "9999"
    known = instruments()
    # Per instrument: what each possible score reports beside it, given the client's
    # first score ever (series_of), the lowest score, and the lane's rows.
    rules: dict[str, tuple | None] = {}
    for mid, aid, day, instrument_id, score, risk in scores:
        rule = rules.get(instrument_id, False)
        if rule is False:
            instrument = known.get(instrument_id)
            rule = rules[instrument_id] = (
                None if instrument is None else (series_of(instrument, score), instrument.low, [])
            )
        if rule is None:
            continue  # a practice removed the definition: scores kept, not read
        if day < low or day > high:
            continue  # outside the window, but counted as the first score all the same
        reported, lowest, rows = rule
        band, change, direction, case, recovered = reported[score - lowest]
        column = by_appointment.get(aid)
        if column is None:
            if by_date is None:
                by_date = {}
                for i, session in enumerate(sessions):
                    by_date.setdefault(session["date"], i)
            column = by_date.get(day)
        if column is not None:
            session = sessions[column]
            session["scores"][instrument_id] = score
            number, note_id = session["session_number"], session["note_id"]
        else:
            if ranks is None:
                ranks = {_number(a.appointment_id): n for n, a in enumerate(attended, 1)}
            number, note_id = ranks.get(aid), None
        rows.append(
            {
                "measure_id": mid,
                "date": day,
                "session_number": number,
                "note_id": note_id,
                "score": score,
                "risk_items": risk,
                "band": band,
                "change_from_first": change,
                "reliable_change": direction,
                "case": case,
                "recovered": recovered,
            }
        )
    history["measures"] = [
        {
            **known[instrument_id].summary(),
            "bands": [
                {"min": b.low, "max": b.high, "label": b.label} for b in known[instrument_id].bands
            ],
            "scores": rule[2],
        }
        for instrument_id, rule in sorted(rules.items())
        if rule is not None and rule[2]
    ]
    return history


def series_of(instrument, first: int) -> list[tuple]:
    """For each possible score (from the instrument's lowest), what a report says beside
    it when the client's first score was `first`: (band, change from the first, reliable
    change, case, recovered), as scoring.series_report computes them. A history looks
    each score up rather than working them out 300 times."""
    first_case = scoring.is_case(instrument, first)
    reported = []
    for value in range(instrument.low, instrument.high + 1):
        change = value - first
        direction = scoring.reliable(instrument, change)
        case = scoring.is_case(instrument, value)
        recovered = (
            None if case is None else bool(first_case and not case and direction == "improvement")
        )
        reported.append((instrument.band(value), change, direction, case, recovered))
    return reported


def latest_risk_flags(history: dict) -> list[dict]:
    """The risk flags of the latest score of each lane of `history` (with attach_scores):
    what the session brief shows, as measures.service.risk_flags does for a client."""
    known = instruments()
    flags = []
    for lane in history.get("measures") or []:
        latest = lane["scores"][-1]
        for risk in known[lane["instrument"]].risk_items:
            if risk.item in latest["risk_items"]:
                flags.append(
                    {
                        "instrument": lane["instrument"],
                        "name": lane["name"],
                        "item": risk.item,
                        "date": latest["date"],
                        "measure_id": latest["measure_id"],
                        "message": risk.message,
                    }
                )
    return flags
