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

from practice.database import as_uuid, raw
from practice.extensions import db
from practice.measures import scoring, series
from practice.measures.definitions import instruments
from practice.measures.models import MeasureScore

# Built once: the theme history asks for it on every request.
_SCORES = (
    sa.select(
        MeasureScore.id,
        raw(MeasureScore.appointment_id),
        raw(MeasureScore.session_date),
        MeasureScore.instrument,
        raw(MeasureScore.created_at),
        MeasureScore.responses,
    )
    .where(
        MeasureScore.client_id == sa.bindparam("client_id"),
        MeasureScore.practice_id == sa.bindparam("practice_id"),
    )
    .order_by(MeasureScore.session_date, MeasureScore.created_at, MeasureScore.id)
)


def load_scores(client, cipher) -> list[tuple]:
    """(measure id, appointment id, ISO date, instrument, {"score", "risk"}) of every form
    of the client, in session order, opening a few sealed values (series.py);
    dates as ISO text (SQLite gives text)."""
    parameters = {"client_id": client.id, "practice_id": client.practice_id}
    rows = db.session.connection().execute(_SCORES, parameters).all()
    # Every sealed value comes with the rows (each holds one chunk, about a kilobyte):
    # one query, rather than one more per chunk followed back.
    blobs = {r[0]: r[5] for r in rows}
    forms = [(r[0], r[3], r[4]) for r in rows]
    scores = series.read(cipher, forms, lambda ids: {m: blobs[m] for m in ids if m in blobs})
    out = []
    for mid, aid, day, instrument, _recorded, _blob in rows:
        score, risk, _prorated = scores[str(mid)]
        iso = day if day.__class__ is str else day.isoformat()
        out.append((mid, as_uuid(aid), iso, instrument, {"score": score, "risk": risk}))
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
    appointment id; `attended_ranks`: appointment id → session number."""
    sessions = history["per_session"]
    by_appointment, by_date = {}, {}
    for i, session in enumerate(sessions):
        session["scores"] = {}
        aid = note_appointments.get(session["note_id"])
        if aid is not None:
            by_appointment[aid] = i
        by_date.setdefault(session["date"], i)
    low = date_from.isoformat() if date_from else None
    high = date_to.isoformat() if date_to else None
    known = instruments()
    series: dict[str, list[dict]] = {}
    for mid, aid, day, instrument_id, sealed in scores:
        if instrument_id not in known:
            continue
        column = by_appointment.get(aid)
        if column is None:
            column = by_date.get(day)
        series.setdefault(instrument_id, []).append(
            {
                "measure_id": str(mid),
                "date": day,
                "session_number": (
                    sessions[column]["session_number"]
                    if column is not None
                    else attended_ranks.get(aid)
                ),
                "note_id": sessions[column]["note_id"] if column is not None else None,
                "score": sealed["score"],
                "risk_items": sealed["risk"],
                "_column": column,
            }
        )
    lanes = []
    for instrument_id in sorted(series):
        instrument = known[instrument_id]
        shown = []
        for row in scoring.series_report(instrument, series[instrument_id]):
            if (low and row["date"] < low) or (high and row["date"] > high):
                continue
            column = row.pop("_column")
            if column is not None:
                sessions[column]["scores"][instrument_id] = row["score"]
            shown.append(row)
        if shown:
            bands = [{"min": b.low, "max": b.high, "label": b.label} for b in instrument.bands]
            lanes.append({**instrument.summary(), "bands": bands, "scores": shown})
    history["measures"] = lanes
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
