"""Figures, scripts, process notes and addenda: access loaders and the rules.

Clinical words are sealed with the client's data key (practice/notes/keys.py) before
they reach the session; only ids, dates, status and versions are plain. Services flush,
the request commits. Writes to drafts and scripts are compare-and-set on `version`, so
two writers with the same If-Match never both win (SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from practice.auth import policy
from practice.auth.models import User
from practice.clients.models import Client
from practice.database import new_id, utcnow
from practice.extensions import db
from practice.notes import keys
from practice.notes.models import Figure, NoteAddendum, ProcessNote, Script
from practice.notes.template import TEMPLATE_VERSION, reference_errors, referenced_ids
from practice.scheduling.models import Appointment

THERAPIST_FIGURE = {"label": "Therapist", "role": "therapist", "period": "current"}
MAX_ADDENDUM = 20_000


class Invalid(Exception):
    """Input that is well-formed but refers to the wrong things; `errors` is field-level."""

    def __init__(self, errors: dict):
        super().__init__("invalid reference")
        self.errors = errors


class Conflict(Exception):
    """The object's state forbids the change (signed note, merged script, taken slot)."""


class Stale(Exception):
    """The caller's version is not the current one."""


# --- access -------------------------------------------------------------------------


def get_clinical_client_for(user: User, client_id: uuid.UUID, *, write: bool = False) -> Client:
    """A client whose figures and scripts the user may see: assigned clinician, or (read
    only) a supervisor of one. Everyone else: 404; a supervisor writing: 403."""
    client = db.session.get(Client, client_id)
    if client is not None and policy.can_do_clinical_work(user, client):
        return client
    if client is not None and policy.supervises_care_of(user, client):
        if write:
            policy.deny("client", client_id, code=403, message="Supervisors have read-only access.")
        return client
    policy.deny("client", client_id)


def get_note_for(user: User, note_id: uuid.UUID, *, write: bool = False) -> ProcessNote:
    """A note the user may read (author, or the author's supervisor); 404 otherwise.
    With `write`, only the author: a supervisor gets 403."""
    note = db.session.get(ProcessNote, note_id)
    if note is None or not policy.can_read_note(user, note):
        policy.deny("note", note_id)
    if write and not policy.can_write_note(user, note):
        policy.deny("note", note_id, code=403, message="Only the author changes a note.")
    return note


def readable_author_ids(user: User) -> set[uuid.UUID]:
    """Whose notes the user may read: their own and their current supervisees'."""
    return {user.id} | policy.supervisee_ids(user)


# --- figures ------------------------------------------------------------------------


def ensure_therapist_figure(client: Client, actor: User | None = None) -> Figure:
    """The client's built-in therapist figure, created on first need (idempotent)."""
    query = sa.select(Figure).where(Figure.client_id == client.id, Figure.is_therapist.is_(True))
    figure = db.session.scalar(query)
    if figure is not None:
        return figure
    figure = Figure(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        is_therapist=True,
        created_by=actor.id if actor else client.primary_clinician_id,
    )
    figure.payload = keys.seal(client, "figures", "payload", figure.id, THERAPIST_FIGURE)
    try:
        with db.session.begin_nested():
            db.session.add(figure)
    except IntegrityError:  # created by a concurrent request a moment ago
        return db.session.scalar(query)
    return figure


def figures_query(client: Client):
    """The client's figures, the therapist first, then in order of creation."""
    return (
        sa.select(Figure)
        .where(Figure.client_id == client.id)
        .order_by(Figure.is_therapist.desc(), Figure.created_at, Figure.id)
    )


def figure_view(figure: Figure, cipher) -> dict:
    """A figure with its decrypted label, role and period."""
    payload = cipher.unseal("figures", "payload", figure.id, figure.payload)
    return {
        "id": figure.id,
        "client_id": figure.client_id,
        "is_therapist": figure.is_therapist,
        "created_at": figure.created_at,
        "updated_at": figure.updated_at,
        **payload,
    }


def get_figure(client: Client, figure_id: uuid.UUID) -> Figure:
    """One figure of this client, or 404."""
    figure = db.session.get(Figure, figure_id)
    if figure is None or figure.client_id != client.id:
        policy.deny("figure", figure_id)
    return figure


def create_figure(user: User, client: Client, payload: dict) -> Figure:
    """A new person in the client's life."""
    _refuse_second_therapist(payload)
    ensure_therapist_figure(client, user)
    figure = Figure(
        id=new_id(), practice_id=client.practice_id, client_id=client.id, created_by=user.id
    )
    figure.payload = keys.seal(client, "figures", "payload", figure.id, payload)
    db.session.add(figure)
    db.session.flush()
    return figure


def update_figure(client: Client, figure: Figure, changes: dict) -> Figure:
    """Change label, role or period; the therapist figure keeps its role."""
    current = keys.unseal(client, "figures", "payload", figure.id, figure.payload)
    if figure.is_therapist and changes.get("role", "therapist") != "therapist":
        raise Invalid({"role": ["The built-in therapist figure keeps the role 'therapist'."]})
    if not figure.is_therapist:
        _refuse_second_therapist(changes)
    current.update(changes)
    figure.payload = keys.seal(client, "figures", "payload", figure.id, current)
    figure.updated_at = utcnow()
    db.session.flush()
    return figure


def _refuse_second_therapist(payload: dict) -> None:
    if payload.get("role") == "therapist":
        raise Invalid(
            {
                "role": [
                    "Every client has one built-in therapist figure; for another "
                    "therapist in the client's life use 'authority' or 'other'."
                ]
            }
        )


# --- scripts ------------------------------------------------------------------------


def scripts_query(client: Client, *, status: str | None = None, include_merged: bool = False):
    """The client's scripts in order of creation."""
    query = sa.select(Script).where(Script.client_id == client.id)
    if status:
        query = query.where(Script.status == status)
    if not include_merged:
        query = query.where(Script.merged_into_id.is_(None))
    return query.order_by(Script.created_at, Script.id)


def script_view(script: Script, cipher) -> dict:
    """A script with its decrypted words."""
    payload = cipher.unseal("scripts", "payload", script.id, script.payload)
    return {
        "id": script.id,
        "client_id": script.client_id,
        "status": script.status,
        "version": script.version,
        "merged_into_id": script.merged_into_id,
        "created_at": script.created_at,
        "updated_at": script.updated_at,
        **payload,
    }


def get_script(client: Client, script_id: uuid.UUID) -> Script:
    """One script of this client, or 404."""
    script = db.session.get(Script, script_id)
    if script is None or script.client_id != client.id:
        policy.deny("script", script_id)
    return script


def create_script(user: User, client: Client, payload: dict, status: str) -> Script:
    """A new recurring pattern, usually a hypothesis first."""
    script = Script(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        status=status,
        created_by=user.id,
    )
    script.payload = keys.seal(client, "scripts", "payload", script.id, payload)
    db.session.add(script)
    db.session.flush()
    return script


def update_script(client: Client, script: Script, changes: dict, version: int) -> Script:
    """Change the words or status of a script that has not been merged away."""
    if script.merged_into_id is not None:
        raise Conflict("A merged script cannot be changed; edit the script it was merged into.")
    payload = keys.unseal(client, "scripts", "payload", script.id, script.payload)
    status = changes.pop("status", script.status)
    payload.update(changes)
    payload = {key: value for key, value in payload.items() if value is not None}
    blob = keys.seal(client, "scripts", "payload", script.id, payload)
    _compare_and_set(
        Script,
        script,
        version,
        {"payload": blob, "status": status},
        Script.merged_into_id.is_(None),
    )
    return script


def survivor_of(script: Script) -> Script:
    """Follow merged_into_id to the script that absorbed this one."""
    seen = {script.id}
    while script.merged_into_id is not None:
        script = db.session.get(Script, script.merged_into_id)
        if script.id in seen:  # a cycle can only come from a hand-edited database
            break
        seen.add(script.id)
    return script


def merge_script(client: Client, script: Script, into_id: uuid.UUID) -> Script:
    """Fold `script` into another script of the same client; history follows the survivor."""
    if script.merged_into_id is not None:
        raise Conflict("This script was already merged.")
    target = db.session.get(Script, into_id)
    if target is None or target.client_id != client.id:
        raise Invalid({"into_script_id": ["No such script for this client."]})
    survivor = survivor_of(target)
    if survivor.id == script.id:
        raise Invalid({"into_script_id": ["A script cannot be merged into itself."]})
    _compare_and_set(
        Script,
        script,
        script.version,
        {"merged_into_id": survivor.id},
        Script.merged_into_id.is_(None),
    )
    db.session.execute(
        sa.update(Script)
        .where(Script.merged_into_id == script.id)
        .values(merged_into_id=survivor.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return survivor


# --- notes --------------------------------------------------------------------------


def check_references(client: Client, content: dict) -> None:
    """Raise Invalid (field-level) when content names figures or scripts of anyone else."""
    wanted_figures, wanted_scripts = referenced_ids(content)
    figures = sa.select(Figure.id, Figure.is_therapist, sa.literal("figure").label("kind")).where(
        Figure.client_id == client.id,
        sa.or_(Figure.is_therapist.is_(True), Figure.id.in_(wanted_figures)),
    )
    scripts = sa.select(Script.id, sa.false(), sa.literal("script")).where(
        Script.client_id == client.id, Script.id.in_(wanted_scripts)
    )
    rows = db.session.execute(sa.union_all(figures, scripts)).all()  # one round trip
    if not any(row.is_therapist for row in rows):
        ensure_therapist_figure(client)
    figure_ids = {row.id for row in rows if row.kind == "figure"}
    script_ids = {row.id for row in rows if row.kind == "script"}
    errors = reference_errors(content, figure_ids, script_ids)
    if errors:
        raise Invalid({"content": errors})


def notes_query(user: User, client: Client, *, status=None, start=None, end=None, desc=False):
    """Notes about this client that the user may read, by session date."""
    query = sa.select(ProcessNote).where(
        ProcessNote.client_id == client.id,
        ProcessNote.practice_id == user.practice_id,
        ProcessNote.author_id.in_(readable_author_ids(user)),
    )
    if status:
        query = query.where(ProcessNote.status == status)
    if start:
        query = query.where(ProcessNote.session_date >= start)
    if end:
        query = query.where(ProcessNote.session_date <= end)
    order = [ProcessNote.session_date, ProcessNote.created_at, ProcessNote.id]
    return query.order_by(*[o.desc() for o in order] if desc else order)


def may_list_notes(user: User, client: Client) -> bool:
    """Assigned clinicians and supervisors of one see the (filtered) note list."""
    return policy.can_do_clinical_work(user, client) or policy.supervises_care_of(user, client)


def note_view(note: ProcessNote, cipher, addenda: list[NoteAddendum] | None = None) -> dict:
    """A note with its decrypted content and, if given, its addenda."""
    view = {
        column: getattr(note, column)
        for column in (
            "id",
            "client_id",
            "author_id",
            "appointment_id",
            "session_date",
            "template_version",
            "status",
            "version",
            "created_at",
            "updated_at",
            "signed_at",
        )
    }
    view["content"] = cipher.unseal("process_notes", "content", note.id, note.content)
    if addenda is not None:
        view["addenda"] = [
            {
                "id": item.id,
                "author_id": item.author_id,
                "created_at": item.created_at,
                "text": cipher.unseal("note_addenda", "text", item.id, item.text),
            }
            for item in addenda
        ]
    return view


def addenda_of(note: ProcessNote) -> list[NoteAddendum]:
    """A note's addenda, oldest first."""
    return list(
        db.session.scalars(
            sa.select(NoteAddendum)
            .where(NoteAddendum.note_id == note.id)
            .order_by(NoteAddendum.created_at, NoteAddendum.id)
        )
    )


def create_note(
    user: User,
    client: Client,
    session_date: date,
    content: dict,
    appointment_id: uuid.UUID | None = None,
) -> ProcessNote:
    """A new draft (version 1) by `user` about `client`."""
    check_references(client, content)
    if appointment_id is not None:
        appointment = db.session.get(Appointment, appointment_id)
        if appointment is None or appointment.client_id != client.id:
            raise Invalid({"appointment_id": ["No such appointment for this client."]})
        taken = sa.select(ProcessNote.id).where(ProcessNote.appointment_id == appointment_id)
        if db.session.scalar(taken) is not None:
            raise Conflict("This appointment already has a note.")
    note = ProcessNote(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        author_id=user.id,
        appointment_id=appointment_id,
        session_date=session_date,
        template_version=TEMPLATE_VERSION,
    )
    note.content = keys.seal(client, "process_notes", "content", note.id, content)
    if appointment_id is None:
        db.session.add(note)
        db.session.flush()
        return note
    try:
        with db.session.begin_nested():
            db.session.add(note)
    except IntegrityError:  # the same appointment, a concurrent request
        raise Conflict("This appointment already has a note.") from None
    return note


def replace_note_content(
    note: ProcessNote,
    client: Client,
    content: dict,
    version: int,
    session_date: date | None = None,
) -> ProcessNote:
    """Replace a draft's content (and date), only if nobody changed it since `version`."""
    if note.status != "draft":
        raise Conflict("A signed note cannot change; add an addendum instead.")
    check_references(client, content)
    blob = keys.seal(client, "process_notes", "content", note.id, content)
    _compare_and_set(ProcessNote, note, version, {"content": blob}, ProcessNote.status == "draft")
    return note


def sign_note(note: ProcessNote, version: int | None = None) -> ProcessNote:
    """Lock a draft for good: status signed, signed_at now."""
    if note.status != "draft":
        raise Conflict("This note is already signed.")
    values = {"status": "signed", "signed_at": utcnow()}
    _compare_and_set(
        ProcessNote,
        note,
        note.version if version is None else version,
        values,
        ProcessNote.status == "draft",
    )
    return note


def add_addendum(user: User, note: ProcessNote, client: Client, text: str) -> NoteAddendum:
    """Append an encrypted, attributed correction to a signed note."""
    if note.status != "signed":
        raise Conflict("Addenda are for signed notes; edit the draft instead.")
    addendum = NoteAddendum(
        id=new_id(),
        practice_id=note.practice_id,
        client_id=note.client_id,
        note_id=note.id,
        author_id=user.id,
        created_at=utcnow(),
    )
    addendum.text = keys.seal(client, "note_addenda", "text", addendum.id, text)
    db.session.add(addendum)
    db.session.flush()
    return addendum


def _compare_and_set(model, obj, version: int, values: dict, *conditions) -> None:
    """UPDATE … WHERE id = :id AND version = :version; a lost race raises Stale/Conflict."""
    result = db.session.execute(
        sa.update(model)
        .where(model.id == obj.id, model.version == version, *conditions)
        .values(**values, version=model.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(obj)
    if result.rowcount != 1:
        if obj.version != version:
            raise Stale()
        raise Conflict("The object can no longer be changed.")
