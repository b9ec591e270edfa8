"""What a client's page shows of the clinical record: the plan in force (and whether it is
due for review), a draft plan, the progress notes, the sessions still without one, and
whether the reader has process notes of their own to take a copy of. Plain columns only:
nothing is decrypted for it."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from practice.audit import service as audit
from practice.auth.models import User
from practice.clients.models import Client
from practice.extensions import db
from practice.notes.models import ProcessNote
from practice.record import plans, progress
from practice.record.models import ProgressNote, TreatmentPlan
from practice.scheduling.models import Appointment

OPEN_SESSIONS = 12  # the most recent appointments offered for a new progress note


def plans_due_for_review(client: Client, today: date | None = None) -> list[TreatmentPlan]:
    """The client's plan in force when its review date is past or within two weeks."""
    current = plans.current_plan(client)
    return [current] if current is not None and plans.is_due(current, today) else []


def sessions_without_note(client: Client) -> list[Appointment]:
    """The client's sessions that took place or are due (not cancelled), newest first,
    that have no progress note yet."""
    noted = sa.select(ProgressNote.appointment_id).where(ProgressNote.client_id == client.id)
    return list(
        db.session.scalars(
            sa.select(Appointment)
            .where(
                Appointment.client_id == client.id,
                Appointment.practice_id == client.practice_id,
                Appointment.status.not_in(progress.NO_SESSION),
                Appointment.id.not_in(noted),
            )
            .order_by(Appointment.starts_at.desc())
            .limit(OPEN_SESSIONS)
        )
    )


def has_own_process_notes(user: User, client: Client) -> bool:
    """Whether `user` wrote process notes about the client (their own copy is offered)."""
    if not user.has_role("clinician"):
        return False
    query = sa.select(ProcessNote.id).where(
        ProcessNote.client_id == client.id, ProcessNote.author_id == user.id
    )
    return db.session.scalar(query.limit(1)) is not None


def client_record(user: User, client: Client, *, writes: bool) -> dict:
    """The clinical record's part of the client page (the caller checked the reader may
    read the record). The list is audited as the API's list is."""
    versions = db.session.scalars(plans.plans_query(client)).all()
    current = next((p for p in versions if p.status == "signed"), None)
    notes = db.session.scalars(progress.notes_query(client)).all()
    audit.record(db.session, "progress_note.list", object_type="client", object_id=client.id)
    return {
        "plan": current,
        "plan_due": current is not None and plans.is_due(current),
        "draft_plan": next((p for p in versions if p.status == "draft"), None),
        "plan_versions": len(versions),
        "progress_notes": notes,
        "open_sessions": sessions_without_note(client) if writes else [],
        "own_copy": has_own_process_notes(user, client),
    }
