"""The clinical record's part of a client's export (the client's right of access): the
signed progress notes with their sessions and addenda, and every signed plan version.
Drafts are not yet part of the record; process notes never are (practice/export.py)."""

from __future__ import annotations

from practice.clients.models import Client
from practice.extensions import db
from practice.keys.errors import ShreddedKeyError
from practice.record import plans, progress
from practice.record.content import plain


def record_part(client: Client) -> dict:
    """{"progress_notes": [...], "treatment_plans": [...]}, oldest first, JSON-ready. A
    client whose key was shredded keeps demographics and appointments only."""
    try:
        return _record_part(client)
    except ShreddedKeyError:
        return {"progress_notes": [], "treatment_plans": []}


def _record_part(client: Client) -> dict:
    signed = db.session.scalars(progress.notes_query(client, status="signed", desc=False)).all()
    addenda = progress.addenda_by_note(signed)
    notes = [progress.note_view(note, client, addenda[note.id]) for note in signed]
    versions = db.session.scalars(plans.plans_query(client)).all()
    signed_plans = [
        plans.plan_view(plan, client) for plan in reversed(versions) if plan.status == "signed"
    ]
    return plain({"progress_notes": notes, "treatment_plans": signed_plans})
