"""The whole clinical read behind each page of the record (progress notes, treatment
plans): who may, what is opened, what is audited, in one call per page.

A view parses, calls one of these with the request's Actor, and renders what it gets;
access is refused here with the domain errors (NotFound for what the actor may not see,
Forbidden for a reader who may not write), as for the API's services in progress.py
and plans.py. Every value opened is audited as those services audit it.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from practice.actor import Actor
from practice.audit import service as audit
from practice.auth import policy
from practice.extensions import db
from practice.notes.scripts import live_scripts
from practice.record import access, codes, plans, progress
from practice.record.models import ProgressNote, TreatmentPlan
from practice.scheduling.models import Appointment


def _goals(note: ProgressNote, client) -> list[dict]:
    """The goals of the plan the note rates (none without a plan)."""
    plan = db.session.get(TreatmentPlan, note.plan_id) if note.plan_id else None
    return plans.open_content(plan, client).get("goals", []) if plan is not None else []


def _note(actor: Actor, note_id: uuid.UUID, **kwargs):
    return access.record_item_for(actor, ProgressNote, "progress_note", note_id, **kwargs)


def _plan(actor: Actor, plan_id: uuid.UUID, **kwargs):
    return access.record_item_for(actor, TreatmentPlan, "treatment_plan", plan_id, **kwargs)


# --- progress notes ---------------------------------------------------------------------


def session_note(actor: Actor, appointment_id: uuid.UUID) -> dict:
    """A session's progress note, or what starting one needs: {"note_id" (None when
    there is none yet), "client", "appointment", "writes"}. NotFound for an appointment
    of another practice or a client whose record the actor may not read."""
    user = actor.user
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or user is None or not policy.in_practice(user, appointment):
        policy.deny("appointment", appointment_id)
    client = access.record_client_for(actor, appointment.client_id)
    note_id = db.session.scalar(
        sa.select(ProgressNote.id).where(ProgressNote.appointment_id == appointment.id)
    )
    return {
        "note_id": note_id,
        "client": client,
        "appointment": appointment,
        "writes": policy.can_do_clinical_work(user, client),
    }


def progress_page(actor: Actor, note_id: uuid.UUID) -> dict:
    """A note's page: the note (read, audited) with its session and addenda, the goals of
    the plan it rates by id, and whether the actor may edit it (its author, a draft, in
    the care) or add an addendum (signed, in the care)."""
    note, client = _note(actor, note_id)
    in_care = policy.can_do_clinical_work(actor.user, client)
    return {
        "row": note,
        "note": progress.read_note(note, client),
        "client": client,
        "goals": {goal["id"]: goal for goal in _goals(note, client)},
        "edits": in_care and note.author_id == actor.user.id and note.status == "draft",
        "addends": in_care and note.status == "signed",
    }


def addendum_page(actor: Actor, note_id: uuid.UUID) -> dict:
    """progress_page, for a clinician in the care who may add an addendum (Forbidden for
    a supervisor): the page a refused addendum is answered with."""
    _note(actor, note_id, write=True, author=False)
    return progress_page(actor, note_id)


def progress_editor(actor: Actor, note_id: uuid.UUID) -> dict:
    """The editor of the author's draft: its content (read, audited; None once signed),
    version, session, the plan's goals, and the practice's code lists."""
    note, client = _note(actor, note_id, write=True)
    draft = note.status == "draft"
    listed = codes.codes_of(client.practice_id)
    return {
        "row": note,
        "client": client,
        "content": progress.read_note(note, client)["content"] if draft else None,
        "version": note.version,
        "session": progress.session_of(db.session.get(Appointment, note.appointment_id)),
        "goals": _goals(note, client) if draft else [],
        "service_codes": listed["service_codes"],
        "diagnosis_codes": listed["diagnosis_codes"],
    }


def draft_to_sign(actor: Actor, kind: str, item_id: uuid.UUID) -> dict:
    """What the signing confirmation of the author's draft progress note or plan
    (`kind`) shows: {"row", "client"}; nothing clinical is opened."""
    load = _note if kind == "progress_note" else _plan
    item, client = load(actor, item_id, write=True)
    return {"row": item, "client": client}


# --- treatment plans --------------------------------------------------------------------


def plan_versions(actor: Actor, client_id: uuid.UUID) -> dict:
    """Every version of the client's plan, newest first (plain columns only; the list is
    audited as the API's), the one in force, whether the actor may start a version, and
    the practice's today for the review dates."""
    client = access.record_client_for(actor, client_id)
    listed = db.session.scalars(plans.plans_query(client)).all()
    audit.record(db.session, "treatment_plan.list", object_type="client", object_id=client.id)
    return {
        "client": client,
        "plans": listed,
        "current": next((p for p in listed if p.status == "signed"), None),
        "writes": policy.can_do_clinical_work(actor.user, client),
        "today": plans.practice_today(client.practice_id),
    }


def plan_page(actor: Actor, plan_id: uuid.UUID) -> dict:
    """One plan version (read, audited), whether it is in force, whether the actor may
    edit it, and the names of the client's scripts its goals may name."""
    plan, client = _plan(actor, plan_id)
    current = plans.current_plan(client)
    in_care = policy.can_do_clinical_work(actor.user, client)
    return {
        "row": plan,
        "plan": plans.read_plan(plan, client),
        "client": client,
        "is_current": current is not None and current.id == plan.id,
        "edits": plan.status == "draft" and plan.author_id == actor.user.id and in_care,
        "discards": in_care and plans.may_discard(actor.user, plan, client),
        "script_names": {str(s["id"]): s["name"] for s in live_scripts(client)},
    }


def draft_to_discard(actor: Actor, plan_id: uuid.UUID) -> dict:
    """What the confirmation of discarding a draft plan shows: {"row", "client",
    "own"}; nothing clinical is opened. Forbidden for who may not discard it (see
    plans.may_discard); a signed plan's row is returned for the view to send away."""
    plan, client = _plan(actor, plan_id, write=True, author=False)
    if plan.status == "draft" and not plans.may_discard(actor.user, plan, client):
        policy.deny("treatment_plan", plan.id, forbidden=True, message=plans.AUTHOR_STILL_HERE)
    return {"row": plan, "client": client, "own": plan.author_id == actor.user.id}


def plan_is_gone(plan_id: uuid.UUID) -> bool:
    """Whether the plan's row no longer exists (a draft discarded meanwhile)."""
    return db.session.scalar(sa.select(TreatmentPlan.id).where(TreatmentPlan.id == plan_id)) is None


def plan_editor(actor: Actor, plan_id: uuid.UUID) -> dict:
    """The editor of the author's draft plan: content (read, audited; None once signed),
    version, review date as text, and the client's scripts a goal may name."""
    plan, client = _plan(actor, plan_id, write=True)
    draft = plan.status == "draft"
    return {
        "row": plan,
        "client": client,
        "content": plans.read_plan(plan, client)["content"] if draft else None,
        "version": plan.version,
        "review_date": plan.review_date.isoformat() if plan.review_date else "",
        "scripts": live_scripts(client) if draft else [],
    }
