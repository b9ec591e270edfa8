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

from datetime import date

import sqlalchemy as sa

from practice.database import raw
from practice.extensions import db
from practice.measures import series
from practice.measures.definitions import instruments
from practice.measures.models import MeasureScore

# Built once: the theme history asks for it on every request. Ids come as the driver
# returns them (hex text from SQLite, uuid.UUID from PostgreSQL) and are compared as hex.
# On PostgreSQL a form's sealed value comes with its row only where a reader opens it
# (series.py): the last form of each full chunk and the latest form of each instrument,
# counted in the order the chunks were written (recorded-at, then id). That is about ten
# values of 300 over the wire rather than every one (about a kilobyte each). SQLite reads
# in the process, where the window functions cost more than the bytes they save (1.7 ms
# against 0.6 ms for 300 rows), so there every row brings its value. Either way, when a
# chain was written some other way (two forms recorded at the same moment), series.read
# asks for what it still lacks by id.
_ORDER = (MeasureScore.created_at, MeasureScore.id)
# The chunk size is written into the SQL (an int constant, no bound value), so the
# statement also runs on the driver as compiled (themes/loader.py pipelines it).
_NUMBER = sa.func.row_number().over(partition_by=MeasureScore.instrument, order_by=_ORDER)
_OPENED = sa.case(
    (
        sa.or_(
            _NUMBER % sa.literal_column(str(int(series.CHUNK))) == sa.literal_column("0"),
            sa.func.count().over(partition_by=MeasureScore.instrument) == _NUMBER,
        ),
        MeasureScore.responses,
    ),
    else_=sa.null(),
)


def _scores(sealed) -> sa.Select:
    return (
        sa.select(
            raw(MeasureScore.id),
            raw(MeasureScore.appointment_id),
            raw(MeasureScore.session_date),
            MeasureScore.instrument,
            raw(MeasureScore.created_at),
            sealed,
            raw(MeasureScore.voided_at),
        )
        .where(
            MeasureScore.client_id == sa.bindparam("client_id"),
            MeasureScore.practice_id == sa.bindparam("practice_id"),
        )
        .order_by(MeasureScore.session_date, MeasureScore.created_at, MeasureScore.id)
    )


_SCORES = _scores(_OPENED)
_SCORES_IN_PROCESS = _scores(MeasureScore.responses)


def _dashed(hex_id: str) -> str:
    """32 hex digits as the canonical UUID text."""
    h = hex_id
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def scores_query(connection) -> sa.Select:
    """The statement load_scores runs on `connection` (parameters client_id, practice_id):
    a caller may send it in a round trip of its own (the theme loader, pipelined)."""
    return _SCORES_IN_PROCESS if connection.dialect.name == "sqlite" else _SCORES


def load_scores(client, cipher, rows: list | None = None) -> list[tuple]:
    """(measure id, appointment id as hex, ISO date, instrument, score, risk items) of every
    form of the client not voided, in session order, opening a few sealed values (series.py); the
    measure id as UUID text, dates as ISO text (SQLite gives text). `rows`: scores_query's
    rows when the caller already fetched them."""
    if rows is None:
        parameters = {"client_id": client.id, "practice_id": client.practice_id}
        connection = db.session.connection()
        rows = connection.execute(scores_query(connection), parameters).all()
    # The sealed values a reader opens come with the rows (_SCORES): one query, rather
    # than one more per chunk followed back; any other asked for is read by id. One pass
    # over the rows, series.key inlined (300 rows a history).
    keys, forms, blobs = [], [], {}
    for mid, _aid, _day, instrument, recorded, blob, _voided in rows:
        k = mid if mid.__class__ is str else mid.hex
        keys.append(k)
        forms.append((k, instrument, recorded))
        if blob is not None:
            blobs[k] = blob
    more = series.sealed_values_of(client)

    def sealed_values(keys: list) -> dict:
        found = {k: blobs[k] for k in keys if k in blobs}
        if len(found) < len(keys):
            found.update(more([k for k in keys if k not in found]))
        return found

    scores = series.read(cipher, forms, sealed_values)
    out = []
    for k, (_mid, aid, day, instrument, _recorded, _blob, voided_at) in zip(
        keys, rows, strict=True
    ):
        if voided_at is not None:
            continue  # entered in error: read for the chunks it carries, never listed
        score, risk, _prorated = scores[k]
        iso = day if day.__class__ is str else day.isoformat()
        hex_aid = aid if aid is None or aid.__class__ is str else aid.hex
        out.append((_dashed(k), hex_aid, iso, instrument, score, risk))
    return out


def attach_scores(
    history: dict,
    scores: list[tuple],
    note_appointments: dict,
    attended_ranks: dict,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict:
    """Add `measures` (one lane per instrument) to `history`, and `scores`
    ({instrument: score}) to each of its sessions. `note_appointments`: note id (text) →
    appointment id; `attended_ranks`: appointment id → session number. Each score's
    band, change from the first, reliable change, caseness and recovery as
    scoring.series_report has them, computed here in the same pass."""
    key = series.key
    sessions = history["per_session"]
    by_appointment, by_date = {}, {}
    for i, session in enumerate(sessions):
        session["scores"] = {}
        aid = note_appointments.get(session["note_id"])
        if aid is not None:
            by_appointment[key(aid)] = i
        by_date.setdefault(session["date"], i)
    ranks = None  # hex → session number, built only for a score off every note's session
    low = date_from.isoformat() if date_from else ""
    high = date_to.isoformat() if date_to else "9999"
    known = instruments()
    lanes: dict[str, list] = {}
    # Per instrument: its band of each possible score, the reliable-change value with the
    # sign of an improvement, caseness, and the first score (value, case) once seen.
    rules: dict[str, tuple] = {}
    for mid, aid, day, instrument_id, score, risk in scores:
        rule = rules.get(instrument_id)
        if rule is None:
            instrument = known.get(instrument_id)
            if instrument is None:
                continue
            bands = [instrument.band(v) for v in range(instrument.low, instrument.high + 1)]
            better = -1 if instrument.higher_is_worse else 1
            caseness = instrument.caseness
            first_case = None if caseness is None else score >= caseness
            rule = rules[instrument_id] = (
                bands, instrument.low, better, instrument.reliable_change, caseness,
                score, first_case,
            )  # fmt: skip
        bands, lowest, better, threshold, caseness, first, first_case = rule
        if day < low or day > high:
            continue  # outside the window, but counted as the first score all the same
        change = score - first
        gain = change * better
        direction = (
            "improvement" if gain >= threshold else "deterioration" if -gain >= threshold else None
        )
        case = None if caseness is None else score >= caseness
        column = by_appointment.get(aid)
        if column is None:
            column = by_date.get(day)
        if column is not None:
            session = sessions[column]
            session["scores"][instrument_id] = score
            number, note_id = session["session_number"], session["note_id"]
        else:
            if ranks is None:
                ranks = {key(a): n for a, n in attended_ranks.items()}
            number, note_id = ranks.get(aid), None
        lanes.setdefault(instrument_id, []).append(
            {
                "measure_id": mid,
                "date": day,
                "session_number": number,
                "note_id": note_id,
                "score": score,
                "risk_items": risk,
                "band": bands[score - lowest],
                "change_from_first": change,
                "reliable_change": direction,
                "case": case,
                "recovered": None
                if case is None
                else bool(first_case and not case and direction == "improvement"),
            }
        )
    history["measures"] = [
        {
            **known[instrument_id].summary(),
            "bands": [
                {"min": b.low, "max": b.high, "label": b.label} for b in known[instrument_id].bands
            ],
            "scores": rows,
        }
        for instrument_id, rows in sorted(lanes.items())
    ]
    return history


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
