"""The clinical record's part of a client's export (the client's right of access): the
signed progress notes with their sessions and addenda, every signed plan version, and
the outcome measures (a form entered in error is listed as voided, without its answers).
Drafts are not yet part of the record; process notes never are (practice/export.py).

A client whose key was shredded keeps demographics and appointments; the lists are
empty and `record_destroyed` says, in words, that they were destroyed with the key
(the message the API answers 410 with), so an empty list never reads as "none written".
"""

from __future__ import annotations

from practice.clients.models import Client
from practice.extensions import db
from practice.keys.errors import ShreddedKeyError
from practice.measures import service as measures
from practice.measures.definitions import instruments
from practice.record import plans, progress
from practice.record.content import plain

# Said in the export of a client whose key was shredded (practice/http.py says the same
# with a 410); null otherwise.
DESTROYED = (
    "This client's progress notes, treatment plans and outcome measures were destroyed "
    "when the client's key was shredded; their details and appointments remain."
)
PARTS = ("progress_notes", "treatment_plans", "measures", "record_destroyed")


def record_part(client: Client) -> dict:
    """{"progress_notes", "treatment_plans", "measures", "record_destroyed"}, oldest
    first, JSON-ready. A client whose key was shredded keeps demographics and
    appointments only: empty lists, and `record_destroyed` saying why."""
    try:
        return {**_record_part(client), "record_destroyed": None}
    except ShreddedKeyError:
        return {
            "progress_notes": [],
            "treatment_plans": [],
            "measures": [],
            "record_destroyed": DESTROYED,
        }


def _measures_part(client: Client) -> list[dict]:
    """Every form, oldest first: instrument, session, score and band; a form entered in
    error as voided (when and why), with no score, band or answers."""
    report = measures.client_report(client, audited=False)
    scored = {
        row["measure_id"]: {**row, "instrument": lane["instrument"]}
        for lane in report["instruments"]
        for row in lane["scores"]
    }
    known = instruments()
    rows = db.session.scalars(measures.scores_query(client)).all()
    out = []
    for form in rows:
        base = {
            "id": str(form.id),
            "appointment_id": str(form.appointment_id),
            "instrument": form.instrument,
            "instrument_name": known[form.instrument].name if form.instrument in known else None,
            "session_date": form.session_date.isoformat(),
            "recorded_by": str(form.recorded_by),
            "voided": form.voided_at is not None,
        }
        if form.voided_at is not None:
            base.update(
                voided_at=form.voided_at.isoformat(),
                void_reason=form.void_reason,
            )
        else:
            row = scored.get(str(form.id), {})
            base.update(
                {k: row.get(k) for k in ("score", "band", "change_from_first", "risk_items")}
            )
        out.append(base)
    return out


def _record_part(client: Client) -> dict:
    signed = db.session.scalars(progress.notes_query(client, status="signed", desc=False)).all()
    addenda = progress.addenda_by_note(signed)
    notes = [progress.note_view(note, client, addenda[note.id]) for note in signed]
    versions = db.session.scalars(plans.plans_query(client)).all()
    signed_plans = [
        plans.plan_view(plan, client) for plan in reversed(versions) if plan.status == "signed"
    ]
    return plain(
        {
            "progress_notes": notes,
            "treatment_plans": signed_plans,
            "measures": _measures_part(client),
        }
    )
