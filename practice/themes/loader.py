"""Loading one client's theme-history inputs: one query per table, one data-key unwrap,
one decryption loop. The computation itself is practice/themes/history.py.

Only the columns the history needs are selected, and appointment ids, dates and start
times skip SQLAlchemy's type conversion (database.raw: on SQLite it cost more than
decrypting the notes); database.as_uuid, as_date and as_utc give the same types on both
databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from practice.clients.models import Client
from practice.database import (
    as_date,
    as_utc,
    as_uuid,
    driver_connection,
    driver_sql,
    pipelined,
    raw,
    uuid_reader,
)
from practice.extensions import db
from practice.keys import client_keys
from practice.measures.timeline import attach_scores, load_scores, scores_query
from practice.notes.models import Figure, ProcessNote, Script
from practice.scheduling.models import Appointment
from practice.themes.history import ThemeHistory
from practice.themes.inputs import (
    AppointmentInput,
    FigureInput,
    NoteInput,
    ScriptInput,
    session_numbers,
    session_window,
)


def _execute(statement):
    """Run a column select on the session's connection: plain rows, no ORM row loading."""
    return db.session.connection().execute(statement)


_NOTE_COLUMNS = (
    ProcessNote.id,
    raw(ProcessNote.session_date),
    ProcessNote.status,
    raw(ProcessNote.appointment_id),
    ProcessNote.version,
    ProcessNote.content,
)
# The same select for the driver (PostgreSQL, pipelined with the scores): the authors as
# one array parameter, since an expanding IN is only rendered by SQLAlchemy's execute.
_NOTES_OF_AUTHORS = sa.select(*_NOTE_COLUMNS).where(
    ProcessNote.client_id == sa.bindparam("client_id"),
    ProcessNote.practice_id == sa.bindparam("practice_id"),
    ProcessNote.author_id == sa.any_(sa.bindparam("authors")),
)


def notes_and_scores(client: Client, author_ids: Iterable[uuid.UUID]) -> tuple | None:
    """(note rows, score rows) in one round trip on PostgreSQL (psycopg pipeline mode,
    driver-level, as the audit chain's statements): the scores query no longer costs a
    round trip of its own. None where the driver has no pipeline (SQLite: in process)."""
    connection = db.session.connection()
    if not pipelined(connection):
        return None
    parameters = {"client_id": client.id, "practice_id": client.practice_id}
    notes_sql = driver_sql(connection, _NOTES_OF_AUTHORS)
    scores_sql = driver_sql(connection, scores_query(connection))
    with (
        driver_connection(connection) as driver,
        driver.pipeline(),
        driver.cursor() as notes,
        driver.cursor() as scores,
    ):
        notes.execute(notes_sql, {**parameters, "authors": list(author_ids)})
        scores.execute(scores_sql, parameters)
        return notes.fetchall(), scores.fetchall()


def note_rows(
    client: Client, author_ids: Iterable[uuid.UUID], read_uuid=as_uuid, rows: list | None = None
) -> list[tuple]:
    """(id, date, status, appointment id, (version, sealed content)) of the authors' notes
    of the client; `read_uuid` turns the raw appointment ids into UUIDs. `rows`: the
    query's rows when already fetched (notes_and_scores)."""
    if rows is None:
        rows = _execute(
            sa.select(*_NOTE_COLUMNS).where(
                ProcessNote.client_id == client.id,
                ProcessNote.practice_id == client.practice_id,
                ProcessNote.author_id.in_(list(author_ids)),
            )
        ).all()
    return [
        (note_id, as_date(day), status, read_uuid(aid), (version, blob))
        for note_id, day, status, aid, version, blob in rows
    ]


def load_scripts(client: Client, cipher) -> list[ScriptInput]:
    """Every script of the client (merged ones too, so history can follow them)."""
    rows = _execute(
        sa.select(
            Script.id, Script.status, Script.merged_into_id, Script.version, Script.payload
        ).where(Script.client_id == client.id, Script.practice_id == client.practice_id)
    ).all()
    return [
        ScriptInput(
            sid,
            str(cipher.unseal("scripts", "payload", sid, blob, version).get("name", "")),
            status,
            into,
        )
        for sid, status, into, version, blob in rows
    ]


def load_figures(client: Client, cipher) -> list[FigureInput]:
    """Every figure of the client with its role (the built-in therapist: "therapist")."""
    rows = _execute(
        sa.select(Figure.id, Figure.is_therapist, Figure.payload).where(
            Figure.client_id == client.id, Figure.practice_id == client.practice_id
        )
    ).all()
    figures = []
    for fid, is_therapist, blob in rows:
        if is_therapist:
            role = "therapist"
        else:
            role = str(cipher.unseal("figures", "payload", fid, blob).get("role", "other"))
        figures.append(FigureInput(fid, role))
    return figures


def load_attended(
    client: Client, timezone: str, *, dated: Iterable | None = None, read_uuid=as_uuid
) -> list[AppointmentInput]:
    """The client's attended appointments by start, each with its local date.

    Local dates are only needed to number notes that are not on an attended appointment
    (see session_numbers): when every id in `dated` is one of the appointments', they
    are left out (None) rather than converted a thousand times for nothing.
    `read_uuid`: as note_rows (one uuid_reader for both: each id converted once).
    """
    rows = _execute(
        sa.select(raw(Appointment.id), raw(Appointment.starts_at))
        .where(
            Appointment.client_id == client.id,
            Appointment.practice_id == client.practice_id,
            Appointment.status == "attended",
        )
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()
    rows = [(read_uuid(aid), starts) for aid, starts in rows]
    ids = {aid for aid, _ in rows}
    if dated is not None and all(aid in ids for aid in dated):
        return [AppointmentInput(aid, None) for aid, _ in rows]
    zone = ZoneInfo(timezone)
    return [AppointmentInput(aid, as_utc(starts).astimezone(zone).date()) for aid, starts in rows]


def client_theme_history(
    client: Client,
    author_ids: Iterable[uuid.UUID],
    timezone: str,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    include_drafts: bool = False,
    with_measures: bool = True,
) -> dict:
    """The theme history of the client over the given authors' notes (see history.py).

    Every note counts for session numbering; only those in the window are decrypted, one
    at a time in session order, each one's plaintext let go once it has been read.
    `with_measures`: the client's scores on the same session axis (measures/timeline.py).
    """
    cipher = client_keys.client_cipher(client)
    read_uuid = uuid_reader()  # the notes' appointment ids and the appointments', once
    author_ids = list(author_ids)
    fetched = notes_and_scores(client, author_ids) if with_measures else None
    rows = note_rows(client, author_ids, read_uuid, fetched[0] if fetched else None)
    notes = [NoteInput(note_id, day, status, None, aid) for note_id, day, status, aid, _ in rows]
    sealed = {note_id: version_and_blob for note_id, _, _, _, version_and_blob in rows}
    attended = load_attended(
        client, timezone, dated=[n.appointment_id for n in notes], read_uuid=read_uuid
    )
    window = session_window(
        notes,
        session_numbers(notes, attended),
        date_from=date_from,
        date_to=date_to,
        include_drafts=include_drafts,
    )
    history = ThemeHistory(load_scripts(client, cipher), load_figures(client, cipher))
    unseal, add = cipher.unseal, history.add
    for day, number, text_id, note in window:
        note_id = note.note_id
        version, blob = sealed[note_id]
        add(
            text_id,
            day.isoformat(),
            number,
            unseal("process_notes", "content", note_id, blob, version),
        )
    result = history.result(client_id=client.id, date_from=date_from, date_to=date_to)
    if with_measures:
        attach_scores(
            result,
            load_scores(client, cipher, fetched[1] if fetched else None),
            {text_id: note.appointment_id for _day, _number, text_id, note in window},
            attended,
            date_from=date_from,
            date_to=date_to,
        )
    return result
