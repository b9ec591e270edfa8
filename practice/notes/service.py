"""Process notes and addenda: the whole read and write of a note for both front ends.

The front ends call the functions under "the record, read and written": each checks
access (practice/notes/access.py), audits, and seals or unseals with the client's key,
and returns the note as shown (a dict). The steps below them are the building blocks.

Clinical words are sealed with the client's data key (practice/keys/client_keys.py) before
they reach the session; only ids, dates, status and versions are plain. Services flush,
the request commits. Writes to drafts and scripts are compare-and-set on `version`, so
two writers with the same If-Match never both win (SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from practice import paging, versions
from practice.audit import service as audit
from practice.auth import policy
from practice.auth.models import User
from practice.clients import service as client_service
from practice.clients.models import Client
from practice.database import insert_now, new_id, utcnow
from practice.extensions import db
from practice.keys import client_keys
from practice.keys.models import ClientDataKey
from practice.notes.access import (
    get_clinical_client_for,
    get_note_for,
    note_authors_for,
    readable_note,
)
from practice.notes.figures import ensure_therapist_figure, figure_view, figures_query
from practice.notes.models import FIRST_VERSION, Figure, NoteAddendum, ProcessNote, Script
from practice.notes.rules import Conflict, Invalid, Stale, compare_and_set
from practice.notes.scripts import script_view, scripts_query
from practice.notes.template import TEMPLATE_VERSION, reference_errors
from practice.scheduling.models import Appointment

MAX_ADDENDUM = 20_000
APPOINTMENT_TAKEN = "This appointment already has a note."


# --- notes --------------------------------------------------------------------------


# Every figure and script id of a client, and the appointment a new note names if it
# is this client's (with whether it has a note already), in one round trip. A client has
# tens of figures and scripts, so reading them all beats an IN list: the statement is
# built and compiled once, where an expanding IN is re-rendered on every execution.
# `flag` is is_therapist for a figure and "already has a note" for an appointment.
_CLIENT_REFERENCES = sa.union_all(
    sa.select(Figure.id, Figure.is_therapist.label("flag"), sa.literal("figure").label("kind"))
    .where(Figure.client_id == sa.bindparam("client_id")),
    sa.select(Script.id, sa.false(), sa.literal("script"))
    .where(Script.client_id == sa.bindparam("client_id")),
    sa.select(
        Appointment.id,
        sa.exists().where(ProcessNote.appointment_id == Appointment.id),
        sa.literal("appointment"),
    ).where(
        Appointment.id == sa.bindparam("appointment_id"),
        Appointment.client_id == sa.bindparam("client_id"),
    ),
)  # fmt: skip


def check_references(
    client: Client, content: dict, appointment_id: uuid.UUID | None = None
) -> None:
    """Raise Invalid (field-level) when content names figures or scripts of anyone else,
    or `appointment_id` is not an appointment of this client; Conflict when that
    appointment has a note already.

    Reads through the session's connection: figures and scripts are flushed by the
    services that create them, so there is nothing to autoflush first.
    """
    parameters = {"client_id": client.id, "appointment_id": appointment_id}
    rows = db.session.connection().execute(_CLIENT_REFERENCES, parameters).all()
    found: dict[str, dict[uuid.UUID, bool]] = {"figure": {}, "script": {}, "appointment": {}}
    for row in rows:
        found[row.kind][row.id] = row.flag
    if not any(found["figure"].values()):
        ensure_therapist_figure(client)
    errors = {}
    if content_errors := reference_errors(content, set(found["figure"]), set(found["script"])):
        errors["content"] = content_errors
    if appointment_id is not None and appointment_id not in found["appointment"]:
        errors["appointment_id"] = ["No such appointment for this client."]
    if errors:
        raise Invalid(errors)
    if found["appointment"].get(appointment_id):
        raise Conflict(APPOINTMENT_TAKEN)


def notes_query(
    authors: set[uuid.UUID], client: Client, *, status=None, start=None, end=None, desc=False
):
    """Notes by `authors` (see note_authors_for) about this client, by session date."""
    query = sa.select(ProcessNote).where(
        ProcessNote.client_id == client.id,
        ProcessNote.practice_id == client.practice_id,
        ProcessNote.author_id.in_(authors),
    )
    if status:
        query = query.where(ProcessNote.status == status)
    if start:
        query = query.where(ProcessNote.session_date >= start)
    if end:
        query = query.where(ProcessNote.session_date <= end)
    order = [ProcessNote.session_date, ProcessNote.created_at, ProcessNote.id]
    return query.order_by(*[o.desc() for o in order] if desc else order)


def note_view(
    note: ProcessNote,
    cipher,
    addenda: list[NoteAddendum] | None = None,
    *,
    content: dict | None = None,
) -> dict:
    """A note with its decrypted content (or `content`, when the caller just sealed it)
    and, if given, its addenda."""
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
    if content is None:
        content = cipher.unseal("process_notes", "content", note.id, note.content, note.version)
    view["content"] = content
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


def addenda_by_note(notes) -> dict[uuid.UUID, list[NoteAddendum]]:
    """Each note's addenda, oldest first, in one query for the whole list."""
    grouped: dict[uuid.UUID, list[NoteAddendum]] = {note.id: [] for note in notes}
    if grouped:
        for addendum in db.session.scalars(
            sa.select(NoteAddendum)
            .where(NoteAddendum.note_id.in_(grouped))
            .order_by(NoteAddendum.created_at, NoteAddendum.id)
        ):
            grouped[addendum.note_id].append(addendum)
    return grouped


def addenda_of(note: ProcessNote) -> list[NoteAddendum]:
    """A note's addenda, oldest first."""
    return addenda_by_note([note])[note.id]


def create_note(
    user: User,
    client: Client,
    session_date: date,
    content: dict,
    appointment_id: uuid.UUID | None = None,
) -> ProcessNote:
    """A new draft (version 1) by `user` about `client`."""
    check_references(client, content, appointment_id)
    now = utcnow()
    note = ProcessNote(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        author_id=user.id,
        appointment_id=appointment_id,
        session_date=session_date,
        template_version=TEMPLATE_VERSION,
        created_at=now,
        updated_at=now,
    )  # status "draft", version 1: the model's defaults (insert_now applies them)
    note.content = client_keys.seal(
        client, "process_notes", "content", note.id, content, FIRST_VERSION
    )
    try:
        insert_now(db.session, note)
    except IntegrityError as error:
        if appointment_id is None or not _appointment_taken(error):
            raise
        # A concurrent request took the appointment since check_references looked: the
        # unique appointment_id refused this one. (The transaction is spoilt on
        # PostgreSQL; the request rolls it back for the 409 as for any refusal.)
        raise Conflict(APPOINTMENT_TAKEN) from None
    return note


def _appointment_taken(error: IntegrityError) -> bool:
    """Whether the unique appointment_id (one note per appointment) refused the row."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None:  # PostgreSQL names the constraint
        return diag.constraint_name == "uq_process_notes_appointment_id"
    return "UNIQUE constraint failed: process_notes.appointment_id" in str(error.orig)


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
    sealed = client_keys.seal(client, "process_notes", "content", note.id, content, version + 1)
    values = {"content": sealed}
    if session_date is not None:
        values["session_date"] = session_date
    compare_and_set(ProcessNote, note, version, values, ProcessNote.status == "draft")
    return note


def sign_note(note: ProcessNote, version: int | None = None) -> ProcessNote:
    """Lock a draft for good: status signed, signed_at now. Signing makes a new version,
    so the content is sealed again for it (the same words)."""
    if note.status != "draft":
        raise Conflict("This note is already signed.")
    if version is not None and version != note.version:
        raise Stale()
    client = db.session.get(Client, note.client_id)
    content = client_keys.unseal(
        client, "process_notes", "content", note.id, note.content, note.version
    )
    sealed = client_keys.seal(
        client, "process_notes", "content", note.id, content, note.version + 1
    )
    values = {"status": "signed", "signed_at": utcnow(), "content": sealed}
    compare_and_set(ProcessNote, note, note.version, values, ProcessNote.status == "draft")
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
    addendum.text = client_keys.seal(client, "note_addenda", "text", addendum.id, text)
    db.session.add(addendum)
    db.session.flush()
    return addendum


# --- the record, read and written (what the front ends call) ------------------------

NOTE_SIGNED = "A signed note cannot change; add an addendum instead."
ALREADY_SIGNED = "This note is already signed."


def shown(note: ProcessNote, content: dict | None = None) -> dict:
    """The note as the front ends show it, with its addenda. `content`: what was just
    sealed, so it need not be decrypted again; a draft has no addenda to look up."""
    cipher = client_keys.client_cipher(db.session.get(Client, note.client_id))
    addenda = [] if note.status == "draft" else addenda_of(note)
    return note_view(note, cipher, addenda, content=content)


def list_notes(
    user: User,
    client_id: uuid.UUID,
    *,
    page: int,
    page_size: int,
    status: str | None = None,
    start: date | None = None,
    end: date | None = None,
    desc: bool = False,
) -> dict:
    """One page of the notes about a client the user may read, decrypted; the list and
    every note on the page audited. NotFound (audited) when the user may read none."""
    client = db.session.get(Client, client_id)
    authors = note_authors_for(user, client) if client is not None else set()
    if not authors:
        policy.deny("client", client_id)
    query = notes_query(authors, client, status=status, start=start, end=end, desc=desc)
    result = paging.paginate(query, page, page_size)
    cipher = client_keys.client_cipher(client)
    audit.record(db.session, "note.list", object_type="client", object_id=client.id)
    addenda = addenda_by_note(result["items"])
    items = []
    for note in result["items"]:
        items.append(note_view(note, cipher, addenda[note.id]))
        audit.record(db.session, "note.read", object_type="note", object_id=note.id)
    return {**result, "items": items}


def _note_rows(note_id: uuid.UUID) -> list[sa.Row]:
    """The note's columns with its client's practice, the client's data key and the
    note's addenda (oldest first) in one statement: a row per addendum, or one row with
    the addendum columns null; none for no such note."""
    return db.session.execute(_note_query(), {"note_id": note_id}).all()


@functools.cache
def _note_query() -> sa.Select:
    """_note_rows's statement, built once: building it and its cache key for every read
    cost more than running it (1.4 -> 0.7 ms CPU)."""
    note, key, addendum = ProcessNote.__table__, ClientDataKey.__table__, NoteAddendum.__table__
    return (
        sa.select(
            note,
            Client.__table__.c.practice_id.label("client_practice_id"),
            key.c.id.label("key_id"),
            key.c.practice_id.label("key_practice_id"),
            key.c.master_key_id,
            key.c.wrapped_key,
            key.c.destroyed_at,
            addendum.c.id.label("addendum_id"),
            addendum.c.author_id.label("addendum_author_id"),
            addendum.c.created_at.label("addendum_created_at"),
            addendum.c.text.label("addendum_text"),
        )
        .join(Client.__table__, Client.__table__.c.id == note.c.client_id)
        .outerjoin(key, key.c.client_id == note.c.client_id)
        .outerjoin(addendum, addendum.c.note_id == note.c.id)
        .where(note.c.id == sa.bindparam("note_id"))
        .order_by(addendum.c.created_at, addendum.c.id)
    )


def read_note(user: User, note_id: uuid.UUID, *, write: bool = False) -> dict:
    """One note with its addenda, decrypted and audited. With `write`, only for its
    author (the editor opens what the author will change). One statement reads the note,
    its client's data key and its addenda (no entities: nothing here changes them)."""
    rows = _note_rows(note_id)
    note = readable_note(user, note_id, rows[0] if rows else None, write=write)
    audit.record(db.session, "note.read", object_type="note", object_id=note.id)
    key = None
    if note.key_id is not None:
        key = SimpleNamespace(
            id=note.key_id,
            practice_id=note.key_practice_id,
            master_key_id=note.master_key_id,
            wrapped_key=note.wrapped_key,
            destroyed_at=note.destroyed_at,
        )
    cipher = client_keys.client_cipher_with_key(note.client_practice_id, note.client_id, key)
    addenda = [
        SimpleNamespace(
            id=row.addendum_id,
            author_id=row.addendum_author_id,
            created_at=row.addendum_created_at,
            text=row.addendum_text,
        )
        for row in rows
        if row.addendum_id is not None and note.status != "draft"
    ]
    return note_view(note, cipher, addenda)


def start_note(
    user: User,
    client_id: uuid.UUID,
    session_date: date,
    content: dict,
    appointment_id: uuid.UUID | None = None,
) -> dict:
    """A new draft by the user about the client, sealed and audited."""
    client = get_clinical_client_for(user, client_id, write=True)
    note = create_note(user, client, session_date, content, appointment_id)
    audit.record(db.session, "note.create", object_type="note", object_id=note.id)
    return shown(note, content)


def update_note(
    user: User,
    note_id: uuid.UUID,
    content: dict,
    *,
    sent: Collection[str] | None,
    session_date: date | None = None,
) -> dict:
    """Replace a draft's content (and date), based on one of the versions `sent`:
    Conflict for a signed note, PreconditionRequired/Stale for a missing or other
    version. Sealed and audited."""
    note = get_note_for(user, note_id, write=True)
    if note.status != "draft":
        raise Conflict(NOTE_SIGNED)
    versions.check_version(note.version, sent)
    client = db.session.get(Client, note.client_id)
    replace_note_content(note, client, content, note.version, session_date)
    audit.record(db.session, "note.update", object_type="note", object_id=note.id)
    return shown(note, content)


def sign_note_for(user: User, note_id: uuid.UUID, *, sent: Collection[str] | None) -> dict:
    """Sign the draft the user read (one of the versions `sent`): locked for good."""
    note = get_note_for(user, note_id, write=True)
    if note.status != "draft":
        raise Conflict(ALREADY_SIGNED)
    versions.check_version(note.version, sent)
    sign_note(note)  # compare-and-set on the version just read (and matched)
    audit.record(db.session, "note.sign", object_type="note", object_id=note.id)
    return shown(note)


def add_note_addendum(user: User, note_id: uuid.UUID, text: str) -> dict:
    """Append a correction to a signed note: sealed, attributed, audited."""
    note = get_note_for(user, note_id, write=True)
    client = db.session.get(Client, note.client_id)
    addendum = add_addendum(user, note, client, text)
    audit.record(db.session, "note.addendum", object_type="note", object_id=note.id)
    audit.record(db.session, "addendum.create", object_type="addendum", object_id=addendum.id)
    return shown(note)


@dataclass(frozen=True)
class OpenNote:
    """A note opened for a page: the row, its client, the note as shown (decrypted, with
    addenda), the names of the figures and scripts it refers to, and whether the user
    may change it."""

    note: ProcessNote
    client: Client
    view: dict
    names: dict
    writable: bool


def open_note(user: User, note_id: uuid.UUID, *, write: bool = False) -> OpenNote:
    """`read_note` for a page: decrypted and audited, with what the page names."""
    note = get_note_for(user, note_id, write=write)
    audit.record(db.session, "note.read", object_type="note", object_id=note.id)
    client = db.session.get(Client, note.client_id)
    cipher = client_keys.client_cipher(client)
    addenda = [] if note.status == "draft" else addenda_of(note)
    view = note_view(note, cipher, addenda)
    names = names_in(client, cipher, view["content"])
    return OpenNote(note, client, view, names, policy.can_write_note(user, note))


def names_in(client: Client, cipher, content: dict) -> dict:
    """The names of the figures and scripts a note refers to (only those are unsealed):
    {"figure_names": {id: label}, "script_names": {id: name}}."""
    figure_ids, script_ids = set(), set(content.get("scripts_active") or ())
    for part in ("relationship_episodes", "enactments", "ruptures"):
        for row in content.get(part) or ():
            figure_ids.add(row.get("figure_id"))
            script_ids.add(row.get("script_id"))
    transference = content.get("transference") or {}
    figure_ids.add(transference.get("therapist_experienced_as"))
    script_ids.add(transference.get("script_id"))
    figures, scripts_named = _ids(figure_ids), _ids(script_ids)
    names: dict = {"figure_names": {}, "script_names": {}}
    if not figures and not scripts_named:
        return names
    # One round trip for both kinds, and no ORM objects: only the payloads are unsealed.
    no_version = sa.cast(sa.null(), sa.Integer)
    query = sa.union_all(
        sa.select(sa.literal("figures"), Figure.id, Figure.payload, no_version).where(
            Figure.client_id == client.id, Figure.id.in_(figures)
        ),
        sa.select(sa.literal("scripts"), Script.id, Script.payload, Script.version).where(
            Script.client_id == client.id, Script.id.in_(scripts_named)
        ),
    )
    for table, object_id, payload, version in db.session.execute(query):
        words = cipher.unseal(table, "payload", object_id, payload, version)
        if table == "figures":
            names["figure_names"][str(object_id)] = words["label"]
        else:
            names["script_names"][str(object_id)] = words["name"]
    return names


def _ids(values) -> set[uuid.UUID]:
    found = set()
    for value in values:
        try:
            found.add(uuid.UUID(str(value)))
        except ValueError:
            continue  # None, or a figure named in words ("therapist experienced as")
    return found


def editor_references(user: User, client: Client) -> dict:
    """The client's figures and scripts for the note editor's pickers (the therapist
    figure always among them), and their names for the rows that refer to them."""
    ensure_therapist_figure(client, user)
    cipher = client_keys.client_cipher(client)
    figures = [figure_view(f, cipher) for f in db.session.scalars(figures_query(client))]
    scripts = [
        script_view(s, cipher)
        for s in db.session.scalars(scripts_query(client, include_merged=True))
    ]
    return {
        "figures": figures,
        "scripts": [s for s in scripts if not s["merged_into_id"]],
        "figure_names": {str(f["id"]): f["label"] for f in figures},
        "script_names": {str(s["id"]): s["name"] for s in scripts},
    }


def open_client_record(user: User, client_id: uuid.UUID) -> tuple[Client, bool]:
    """A client's clinical page: the client, and whether the user may write (their own
    client). A supervisor of the client's care reads; everyone else: NotFound. Audited
    as a read of the client."""
    client = db.session.get(Client, client_id)
    if client is not None and policy.can_do_clinical_work(user, client):
        return client_service.read_client(user, client_id), True
    client = get_clinical_client_for(user, client_id)
    audit.record(db.session, "client.read", object_type="client", object_id=client.id)
    return client, False


def figures_and_scripts(user: User, client: Client, *, writable: bool) -> tuple[list, list]:
    """The client's figures and live scripts, decrypted and audited as listed. The
    therapist figure is created on first need by the client's clinicians (`writable`),
    never by a supervisor's read."""
    if writable:
        ensure_therapist_figure(client, user)
    cipher = client_keys.client_cipher(client)
    figures = [figure_view(f, cipher) for f in db.session.scalars(figures_query(client))]
    scripts = [script_view(s, cipher) for s in db.session.scalars(scripts_query(client))]
    audit.record(db.session, "figure.list", object_type="client", object_id=client.id)
    audit.record(db.session, "script.list", object_type="client", object_id=client.id)
    return figures, scripts
