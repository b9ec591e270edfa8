"""Recording measures for a client's sessions and reading them back as a report.

Who: a clinician in the client's care records (policy.can_do_clinical_work); the care
team and the supervisors of one (links in effect) read; nobody else, schedulers and
owners who are not the client's clinicians included (404). Loaders are
`notes.access.get_clinical_client_for`, the same rule as figures and scripts.

Everything a form holds (answers, total, risk items) is sealed under the client's data
key; the instrument's id and the session's local date are plain. Every read and write
is audited with ids only. Services flush; the request commits.

A form entered in error is voided (void_measure): it stays, sealed, and every reader
here and in timeline.py leaves it out of scores, bands, change, flags and lanes. The
forms carry chunks of earlier scores (series.py), so a reader never lists a score from
a chunk: it lists the rows that are not void and only looks their scores up there.
"""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from practice import errors
from practice.actor import Actor
from practice.audit import service as audit
from practice.auth.models import Practice, User
from practice.clients.models import Client
from practice.database import new_id, utcnow
from practice.extensions import db
from practice.keys import client_keys
from practice.measures import scoring, series
from practice.measures.definitions import Instrument, instruments
from practice.measures.models import COLUMN, FORM_COLUMNS, TABLE, VOID_REASONS, MeasureScore
from practice.measures.timeline import latest_risk_flags
from practice.notes.access import get_clinical_client_for
from practice.scheduling.models import Appointment

# A form belongs to a session that took place or is about to: not to one called off.
CALLED_OFF = ("cancelled", "late_cancelled", "no_show")
DUPLICATE = "This session already has a form of this instrument."


def measures_client_for(user: User, client_id: uuid.UUID, *, write: bool = False) -> Client:
    """The client whose measures the user may read (care team, supervisors of one) or,
    with `write`, record (the client's clinicians; a supervisor gets 403); else 404."""
    return get_clinical_client_for(user, client_id, write=write)


def instrument_or_invalid(instrument_id) -> Instrument:
    """The instrument named `instrument_id`, or Invalid on the field `instrument`."""
    found = instruments().get(instrument_id) if isinstance(instrument_id, str) else None
    if found is None:
        known = ", ".join(sorted(instruments()))
        raise errors.Invalid({"instrument": [f"Unknown instrument; known: {known}."]})
    return found


def session_appointment(client: Client, appointment_id) -> Appointment:
    """An appointment of this client (Invalid otherwise, exactly as for an id that does not
    exist) that was not called off."""
    appointment = db.session.get(Appointment, appointment_id) if appointment_id else None
    if (
        appointment is None
        or appointment.client_id != client.id
        or appointment.practice_id != client.practice_id
    ):
        raise errors.Invalid({"appointment_id": ["No such appointment for this client."]})
    if appointment.status in CALLED_OFF:
        raise errors.Invalid(
            {"appointment_id": ["A cancelled or missed session takes no measure."]}
        )
    return appointment


CHOICES = 60


def session_choices(client: Client, zone, *, until) -> list[tuple[uuid.UUID, str]]:
    """The client's sessions a form can be recorded for (not called off, starting before
    `until`), newest first, at most CHOICES, as (appointment id, local start text)."""
    rows = db.session.scalars(
        sa.select(Appointment)
        .where(
            Appointment.client_id == client.id,
            Appointment.practice_id == client.practice_id,
            Appointment.status.not_in(CALLED_OFF),
            Appointment.starts_at < until,
        )
        .order_by(Appointment.starts_at.desc(), Appointment.id)
        .limit(CHOICES)
    ).all()
    return [
        (a.id, a.starts_at.astimezone(zone).strftime("%a %-d %b %Y, %H:%M") + f" ({a.status})")
        for a in rows
    ]


def local_date(client: Client, appointment: Appointment) -> date:
    """The session's date in the practice's time zone."""
    zone = db.session.get(Practice, client.practice_id).timezone
    return appointment.starts_at.astimezone(ZoneInfo(zone)).date()


def record_measure(user: User, client: Client, data: dict) -> MeasureScore:
    """Score and seal one form (`instrument`, `appointment_id`, `responses`) for a session
    of the client. Invalid for an unknown instrument, another client's appointment or a
    form the instrument's rules refuse; Conflict when the session has this form already."""
    instrument = instrument_or_invalid(data.get("instrument"))
    appointment = session_appointment(client, data.get("appointment_id"))
    try:
        scored = scoring.score(instrument, data.get("responses"))
    except scoring.FormRefused as refused:
        raise errors.Invalid({"responses": refused.errors}, "The form was refused.") from None
    taken = sa.select(MeasureScore.id).where(
        MeasureScore.appointment_id == appointment.id,
        MeasureScore.instrument == instrument.id,
        MeasureScore.voided_at.is_(None),
    )
    if db.session.scalar(taken) is not None:
        raise errors.Conflict(DUPLICATE)
    given = data["responses"]
    answers = {i: given[i] for i in instrument.item_ids if given.get(i) is not None}
    measure = MeasureScore(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        appointment_id=appointment.id,
        instrument=instrument.id,
        instrument_version=instrument.version,
        session_date=local_date(client, appointment),
        recorded_by=user.id,
    )
    # A chunk of the series travels with the new form, so that reading a client's scores
    # opens a few values, not one per form (practice/measures/series.py).
    cipher = client_keys.client_cipher(client)
    carried, before = series.chunk_for_new_form(client, cipher, instrument.id)
    carried[series.key(measure.id)] = series.entry(scored)
    payload = {"responses": answers, **scored, "series": carried, "before": before}
    measure.responses = client_keys.seal(client, TABLE, COLUMN, measure.id, payload)
    try:
        with db.session.begin_nested():
            db.session.add(measure)
    except IntegrityError:  # a concurrent request recorded the same form a moment ago
        raise errors.Conflict(DUPLICATE) from None
    audit.record(db.session, "measure.create", object_type="measure", object_id=measure.id)
    return measure


def scores_query(client: Client, *, date_from=None, date_to=None) -> sa.Select:
    """The client's forms in session order (date, then when recorded)."""
    query = sa.select(MeasureScore).where(
        MeasureScore.client_id == client.id, MeasureScore.practice_id == client.practice_id
    )
    if date_from is not None:
        query = query.where(MeasureScore.session_date >= date_from)
    if date_to is not None:
        query = query.where(MeasureScore.session_date <= date_to)
    return query.order_by(MeasureScore.session_date, MeasureScore.created_at, MeasureScore.id)


def opened(client: Client, measure: MeasureScore) -> dict:
    """The sealed part of a form: {"responses", "score", "answered", "prorated", "risk"}."""
    return client_keys.unseal(client, TABLE, COLUMN, measure.id, measure.responses)


def measure_view(client: Client, measure: MeasureScore) -> dict:
    """One form with its answers, score and band (as the API shows it)."""
    instrument = instruments().get(measure.instrument)
    sealed = opened(client, measure)
    return {
        "id": measure.id,
        "client_id": measure.client_id,
        "appointment_id": measure.appointment_id,
        "instrument": measure.instrument,
        "instrument_version": measure.instrument_version,
        "session_date": measure.session_date,
        "recorded_by": measure.recorded_by,
        "created_at": measure.created_at,
        "responses": sealed["responses"],
        "score": sealed["score"],
        "prorated": sealed["prorated"],
        "band": instrument.band(sealed["score"]) if instrument else None,
        "risk_items": sealed["risk"],
        **void_view(measure),
    }


def void_view(measure: MeasureScore) -> dict:
    """Whether the form was voided, when, by whom and why (plain bookkeeping)."""
    return {
        "voided": measure.voided_at is not None,
        "voided_at": measure.voided_at,
        "voided_by": measure.voided_by,
        "void_reason": measure.void_reason,
    }


def _form_of(client: Client, measure_id: uuid.UUID, actor=None) -> MeasureScore:
    """The form `measure_id` of this client; NotFound (audited) for anything else."""
    measure = db.session.get(MeasureScore, measure_id)
    if measure is None or measure.client_id != client.id:
        audit.record(
            db.session,
            "access.denied",
            object_type="measure",
            object_id=measure_id,
            outcome="denied",
            actor=actor,
        )
        raise errors.NotFound("measure")
    return measure


def void_measure(actor: Actor, client: Client, measure_id: uuid.UUID, reason) -> MeasureScore:
    """Mark a form as entered in error, with a reason category (VOID_REASONS). The caller
    loaded `client` for writing (a clinician in the client's care, the form's author
    among them; a supervisor gets 403). The form stays, sealed, and is left out of every
    score, band, change, flag and lane from now on. Invalid for an unknown reason;
    NotFound for another client's form; Conflict when it is void already. Audited."""
    if not isinstance(reason, str) or reason not in VOID_REASONS:
        known = ", ".join(sorted(VOID_REASONS))
        raise errors.Invalid({"reason": [f"Choose why the form is void; one of: {known}."]})
    measure = _form_of(client, measure_id, actor)
    # Voided once, by one request: the row is updated only while it is not void yet.
    done = db.session.execute(
        sa.update(MeasureScore)
        .where(MeasureScore.id == measure.id, MeasureScore.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by=actor.user.id, void_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise errors.Conflict("This form was already marked as entered in error.")
    db.session.refresh(measure)
    audit.record(
        db.session, "measure.void", object_type="measure", object_id=measure.id, actor=actor
    )
    return measure


def get_measure(client: Client, measure_id: uuid.UUID) -> MeasureScore:
    """One form of this client; NotFound (audited) for anything else."""
    measure = _form_of(client, measure_id)
    audit.record(db.session, "measure.read", object_type="measure", object_id=measure.id)
    return measure


def client_report(client: Client, *, date_from=None, date_to=None, audited: bool = True) -> dict:
    """Per instrument the client has scores for: each score with band, change from the
    first, reliable change, caseness and recovery; and the risk flags (see risk_flags)."""
    rows = db.session.execute(
        scores_query(client, date_from=date_from, date_to=date_to).with_only_columns(
            *FORM_COLUMNS,
            MeasureScore.void_reason,
        )
    ).all()
    cipher = client_keys.client_cipher(client)
    # Every form, void or not, so the chunks are followed as they were written; only the
    # forms not void are listed.
    forms = [(r[0], r[3], r[4]) for r in rows]
    scores = series.read(cipher, forms, series.sealed_values_of(client))
    by_instrument: dict[str, list[dict]] = {}
    voided = []
    for mid, appointment_id, day, instrument_id, _recorded, voided_at, reason in rows:
        if voided_at is not None:
            voided.append(
                {
                    "measure_id": str(mid),
                    "appointment_id": str(appointment_id),
                    "instrument": instrument_id,
                    "date": day.isoformat(),
                    "voided_at": voided_at.isoformat(),
                    "void_reason": reason,
                }
            )
            continue
        score, risk, prorated = scores[series.key(mid)]
        by_instrument.setdefault(instrument_id, []).append(
            {
                "measure_id": str(mid),
                "appointment_id": str(appointment_id),
                "date": day.isoformat(),
                "score": score,
                "prorated": prorated,
                "risk_items": risk,
            }
        )
    known = instruments()
    report = []
    for instrument_id in sorted(by_instrument, key=lambda i: (i not in known, i)):
        instrument = known.get(instrument_id)
        if instrument is None:  # a practice removed its definition: scores kept, not read
            continue
        scores = scoring.series_report(instrument, by_instrument[instrument_id])
        report.append({**instrument.summary(), "scores": scores})
    if audited:
        audit.record(db.session, "measure.list", object_type="client", object_id=client.id)
    flags = latest_risk_flags({"measures": report})
    return {
        "client_id": str(client.id),
        "instruments": report,
        "risk_flags": flags,
        "voided": voided,
    }


def risk_flags(client: Client) -> list[dict]:
    """The risk items answered above their threshold on the latest form of each
    instrument (PHQ-9 item 9 above "Not at all"), for the client's page and the session
    brief. The caller has checked access (measures_client_for or the page's loader);
    this read is audited."""
    report = client_report(client, audited=False)
    audit.record(db.session, "measure.risk_read", object_type="client", object_id=client.id)
    return report["risk_flags"]
