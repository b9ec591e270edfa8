"""Progress notes: one per session (an appointment of the client), drafts under If-Match,
signed for good, corrected by addenda.

The session's facts (date, start and end, modality, kind, clinician) come from the
appointment and are shown from it, never copied. The note rates the goals of the plan
in force when it was started (`plan_id`); the service code must be on the practice's list.
Content is sealed under the client's data key, bound to the row's version; every read
and write is audited.
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from practice import versions
from practice.actor import Actor
from practice.audit import service as audit
from practice.auth.models import Practice, User
from practice.clients.models import Client
from practice.database import new_id, utcnow
from practice.errors import Conflict, Invalid, Stale
from practice.extensions import db
from practice.keys import client_keys as keys
from practice.paging import paginate
from practice.record import access, codes, plans
from practice.record.content import ProgressContentSchema, plain
from practice.record.drafts import compare_and_set
from practice.record.models import ProgressNote, ProgressNoteAddendum, TreatmentPlan
from practice.scheduling.models import Appointment

TABLE = "progress_notes"
ADDENDA = "progress_note_addenda"
MAX_ADDENDUM = 20_000
NO_SESSION = ("cancelled", "late_cancelled")
APPOINTMENT_TAKEN = "This appointment has a progress note already."
VIEW_COLUMNS = (
    "id",
    "client_id",
    "author_id",
    "appointment_id",
    "plan_id",
    "session_date",
    "status",
    "version",
    "created_at",
    "updated_at",
    "signed_at",
)


def notes_query(client: Client, *, status: str | None = None, desc: bool = True):
    """The client's progress notes by session date (newest first unless `desc` is False)."""
    query = sa.select(ProgressNote).where(
        ProgressNote.client_id == client.id, ProgressNote.practice_id == client.practice_id
    )
    if status:
        query = query.where(ProgressNote.status == status)
    order = [ProgressNote.session_date, ProgressNote.created_at, ProgressNote.id]
    return query.order_by(*[o.desc() for o in order] if desc else order)


def session_of(appointment: Appointment) -> dict:
    """What a progress note shows of its session, from the appointment: times, kind,
    modality, attendance, and who took part (the client and the clinician)."""
    session = {
        column: getattr(appointment, column)
        for column in ("starts_at", "ends_at", "kind", "modality", "status", "clinician_id")
    }
    client = db.session.get(Client, appointment.client_id)
    clinician = db.session.get(User, appointment.clinician_id)
    session["participants"] = [
        {"role": "client", "id": client.id, "name": f"{client.first_name} {client.last_name}"},
        {"role": "clinician", "id": clinician.id, "name": clinician.name},
    ]
    return session


def _appointment_for(client: Client, appointment_id: uuid.UUID) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if (
        appointment is None
        or appointment.client_id != client.id
        or appointment.practice_id != client.practice_id
    ):
        raise Invalid({"appointment_id": ["No such appointment for this client."]})
    if appointment.status in NO_SESSION:
        raise Invalid(
            {"appointment_id": ["This session was cancelled; there is nothing to record."]}
        )
    return appointment


def _checked(client: Client, raw: dict, plan_id: uuid.UUID | None) -> dict:
    """Validated content: the service code on the practice's list, each rated goal a goal
    of the note's plan. Raises Invalid (field-level)."""
    content = ProgressContentSchema().load(raw)
    errors: dict = {}
    code = content.get("service_code")
    if code is not None and code not in codes.codes_of(client.practice_id)["service_codes"]:
        errors["service_code"] = ["Not one of the practice's service codes."]
    rated = [item["goal_id"] for item in content["goal_progress"]]
    if rated:
        plan = db.session.get(TreatmentPlan, plan_id) if plan_id else None
        goals = plans.goals_of(plans.open_content(plan, client)) if plan is not None else {}
        bad = {str(i): {"goal_id": ["Not a goal of this client's current plan."]}
               for i, goal_id in enumerate(rated) if goal_id not in goals}  # fmt: skip
        if bad:
            errors["goal_progress"] = bad
    if errors:
        raise Invalid({"content": errors})
    return plain(content)


def create_note(actor: Actor, client: Client, appointment_id: uuid.UUID, raw: dict) -> tuple:
    """A new draft (version 1) for an appointment of the client; returns (note, content)."""
    appointment = _appointment_for(client, appointment_id)
    if db.session.scalar(
        sa.select(ProgressNote.id).where(ProgressNote.appointment_id == appointment.id)
    ):
        raise Conflict(APPOINTMENT_TAKEN)
    current = plans.current_plan(client)
    plan_id = current.id if current is not None else None
    content = _checked(client, raw, plan_id)
    zone = ZoneInfo(db.session.get(Practice, client.practice_id).timezone)
    now = utcnow()
    note = ProgressNote(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        author_id=actor.user_id,
        appointment_id=appointment.id,
        plan_id=plan_id,
        session_date=appointment.starts_at.astimezone(zone).date(),
        status="draft",
        version=1,
        created_at=now,
        updated_at=now,
    )
    note.content = keys.seal(client, TABLE, "content", note.id, content, 1)
    try:
        with db.session.begin_nested():
            db.session.add(note)
    except IntegrityError:
        raise Conflict(APPOINTMENT_TAKEN) from None  # a concurrent request took it
    audit.record(db.session, "progress_note.create", object_type="progress_note", object_id=note.id)
    return note, content


def replace_note(note: ProgressNote, client: Client, raw: dict, version: int) -> dict:
    """Replace a draft's content, only at `version` (Stale otherwise)."""
    if note.status != "draft":
        raise Conflict("A signed progress note cannot change; add an addendum instead.")
    if version != note.version:
        raise Stale()
    content = _checked(client, raw, note.plan_id)
    sealed = keys.seal(client, TABLE, "content", note.id, content, version + 1)
    compare_and_set(
        ProgressNote, note, version, {"content": sealed}, ProgressNote.status == "draft"
    )
    audit.record(db.session, "progress_note.update", object_type="progress_note", object_id=note.id)
    return content


def sign_note(note: ProgressNote, client: Client, version: int) -> dict:
    """Lock a draft for good at `version`; a note to sign names its service code."""
    if note.status != "draft":
        raise Conflict("This progress note is already signed.")
    if version != note.version:
        raise Stale()
    # Signed, the note fixes its session (the front desk can no longer move or cancel it:
    # scheduling/changes.py), so only a session that took place is signed for.
    appointment = db.session.get(Appointment, note.appointment_id)
    if appointment.status in NO_SESSION:
        raise Conflict("This session was cancelled; its note cannot be signed.")
    if appointment.starts_at > utcnow():
        raise Conflict("A progress note is signed once its session has begun.")
    content = open_content(note, client)
    if not content.get("service_code"):
        message = "A note to sign names its service code."
        raise Invalid({"content": {"service_code": [message]}}, message)
    sealed = keys.seal(client, TABLE, "content", note.id, content, version + 1)
    values = {"status": "signed", "signed_at": utcnow(), "content": sealed}
    compare_and_set(ProgressNote, note, version, values, ProgressNote.status == "draft")
    audit.record(db.session, "progress_note.sign", object_type="progress_note", object_id=note.id)
    return content


def add_addendum(
    actor: Actor, note: ProgressNote, client: Client, text: str
) -> ProgressNoteAddendum:
    """Append a sealed, attributed correction to a signed note."""
    if note.status != "signed":
        raise Conflict("Addenda are for signed progress notes; edit the draft instead.")
    addendum = ProgressNoteAddendum(
        id=new_id(),
        practice_id=note.practice_id,
        client_id=note.client_id,
        note_id=note.id,
        author_id=actor.user_id,
        created_at=utcnow(),
    )
    addendum.text = keys.seal(client, ADDENDA, "text", addendum.id, text)
    db.session.add(addendum)
    db.session.flush()
    audit.record(
        db.session, "progress_note.addendum", object_type="progress_note", object_id=note.id
    )
    return addendum


def open_content(note: ProgressNote, client: Client) -> dict:
    return keys.unseal(client, TABLE, "content", note.id, note.content, note.version)


def addenda_by_note(notes) -> dict[uuid.UUID, list[ProgressNoteAddendum]]:
    """Each note's addenda, oldest first, in one query."""
    grouped: dict[uuid.UUID, list] = {note.id: [] for note in notes}
    if grouped:
        for item in db.session.scalars(
            sa.select(ProgressNoteAddendum)
            .where(ProgressNoteAddendum.note_id.in_(grouped))
            .order_by(ProgressNoteAddendum.created_at, ProgressNoteAddendum.id)
        ):
            grouped[item.note_id].append(item)
    return grouped


def note_view(
    note: ProgressNote, client: Client, addenda=None, content: dict | None = None
) -> dict:
    """The note's plain columns, its session (from the appointment), content and addenda."""
    view = {column: getattr(note, column) for column in VIEW_COLUMNS}
    view["session"] = session_of(db.session.get(Appointment, note.appointment_id))
    view["content"] = open_content(note, client) if content is None else content
    if addenda is None:
        addenda = [] if note.status == "draft" else addenda_by_note([note])[note.id]
    view["addenda"] = [
        {
            "id": item.id,
            "author_id": item.author_id,
            "created_at": item.created_at,
            "text": keys.unseal(client, ADDENDA, "text", item.id, item.text),
        }
        for item in addenda
    ]
    return view


def read_note(note: ProgressNote, client: Client) -> dict:
    """The note's view, the read audited."""
    view = note_view(note, client)
    audit.record(db.session, "progress_note.read", object_type="progress_note", object_id=note.id)
    return view


def list_notes(client: Client, items) -> list[dict]:
    """Views of a page of the client's notes (addenda in one query), each read audited."""
    addenda = addenda_by_note(items)
    views = []
    for note in items:
        views.append(note_view(note, client, addenda[note.id]))
        audit.record(
            db.session, "progress_note.read", object_type="progress_note", object_id=note.id
        )
    return views


# --- the whole read or write, for the front ends ----------------------------------------


def _note_for(actor: Actor, note_id: uuid.UUID, **kwargs) -> tuple[ProgressNote, Client]:
    return access.record_item_for(actor, ProgressNote, "progress_note", note_id, **kwargs)


def page_of_notes(
    actor: Actor, client_id: uuid.UUID, *, status: str | None, page: int, page_size: int
) -> dict:
    """One page of the client's notes, newest first, for a reader of the record; audited."""
    client = access.record_client_for(actor, client_id)
    found = paginate(notes_query(client, status=status), page, page_size)
    audit.record(db.session, "progress_note.list", object_type="client", object_id=client.id)
    return {**found, "items": list_notes(client, found["items"])}


def start(actor: Actor, client_id: uuid.UUID, appointment_id: uuid.UUID, raw: dict) -> dict:
    """A new draft for an appointment of the client, by a clinician in its care."""
    client = access.record_client_for(actor, client_id, write=True)
    note, content = create_note(actor, client, appointment_id, raw)
    return note_view(note, client, [], content)


def read(actor: Actor, note_id: uuid.UUID) -> dict:
    """One note, for a reader of the client's record; audited."""
    return read_note(*_note_for(actor, note_id))


def update(actor: Actor, note_id: uuid.UUID, raw: dict, *, sent) -> dict:
    """Replace the author's draft, based on one of the versions `sent`."""
    note, client = _note_for(actor, note_id, write=True)
    if note.status == "draft":
        versions.check_version(note.version, sent)
    content = replace_note(note, client, raw, note.version)
    return note_view(note, client, [], content)


def sign(actor: Actor, note_id: uuid.UUID, *, sent) -> dict:
    """Sign the author's draft at the version they read (one of `sent`)."""
    note, client = _note_for(actor, note_id, write=True)
    if note.status == "draft":
        versions.check_version(note.version, sent)
    content = sign_note(note, client, note.version)
    return note_view(note, client, [], content)


def addendum(actor: Actor, note_id: uuid.UUID, text: str) -> dict:
    """Append a correction to a signed note: any clinician in the client's care."""
    note, client = _note_for(actor, note_id, write=True, author=False)
    add_addendum(actor, note, client, text)
    return note_view(note, client)
