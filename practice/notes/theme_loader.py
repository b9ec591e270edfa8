"""Loading one client's theme-history inputs: one query per table, one data-key unwrap,
one decryption loop. The computation itself is practice/notes/themes.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from practice.clients.models import Client
from practice.extensions import db
from practice.notes import keys
from practice.notes.models import Figure, ProcessNote, Script
from practice.notes.themes import (
    AppointmentInput,
    FigureInput,
    NoteInput,
    ScriptInput,
    theme_history,
)
from practice.scheduling.models import Appointment


def load_notes(
    client: Client,
    author_ids: Iterable[uuid.UUID],
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    include_drafts: bool = False,
    cipher=None,
) -> list[NoteInput]:
    """The authors' notes of the client; content decrypted only for those in the window.

    Notes outside the window (or excluded drafts) keep `content=None`: they take part in
    session numbering only, so numbers do not change with the window.
    """
    cipher = cipher or keys.client_cipher(client)
    rows = db.session.execute(
        sa.select(
            ProcessNote.id,
            ProcessNote.session_date,
            ProcessNote.status,
            ProcessNote.appointment_id,
            ProcessNote.content,
        ).where(
            ProcessNote.client_id == client.id,
            ProcessNote.practice_id == client.practice_id,
            ProcessNote.author_id.in_(list(author_ids)),
        )
    ).all()
    unseal = cipher.unseal
    notes = []
    for note_id, day, status, appointment_id, blob in rows:
        wanted = (
            (include_drafts or status == "signed")
            and (date_from is None or day >= date_from)
            and (date_to is None or day <= date_to)
        )
        content = unseal("process_notes", "content", note_id, blob) if wanted else None
        notes.append(NoteInput(note_id, day, status, content, appointment_id))
    return notes


def load_scripts(client: Client, cipher) -> list[ScriptInput]:
    """Every script of the client (merged ones too, so history can follow them)."""
    rows = db.session.execute(
        sa.select(Script.id, Script.status, Script.merged_into_id, Script.payload).where(
            Script.client_id == client.id, Script.practice_id == client.practice_id
        )
    ).all()
    return [
        ScriptInput(
            sid, str(cipher.unseal("scripts", "payload", sid, blob).get("name", "")), status, into
        )
        for sid, status, into, blob in rows
    ]


def load_figures(client: Client, cipher) -> list[FigureInput]:
    """Every figure of the client with its role (the built-in therapist: "therapist")."""
    rows = db.session.execute(
        sa.select(Figure.id, Figure.is_therapist, Figure.payload).where(
            Figure.client_id == client.id, Figure.practice_id == client.practice_id
        )
    ).all()
    figures = []
    for fid, is_therapist, blob in rows:
        role = "therapist" if is_therapist else cipher.unseal("figures", "payload", fid, blob)
        figures.append(FigureInput(fid, role if is_therapist else str(role.get("role", "other"))))
    return figures


def load_attended(client: Client, timezone: str) -> list[AppointmentInput]:
    """The client's attended appointments by start, each with its local date."""
    zone = ZoneInfo(timezone)
    rows = db.session.execute(
        sa.select(Appointment.id, Appointment.starts_at)
        .where(
            Appointment.client_id == client.id,
            Appointment.practice_id == client.practice_id,
            Appointment.status == "attended",
        )
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()
    return [AppointmentInput(aid, starts.astimezone(zone).date()) for aid, starts in rows]


def client_theme_history(
    client: Client,
    author_ids: Iterable[uuid.UUID],
    timezone: str,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    include_drafts: bool = False,
) -> dict:
    """The theme history of the client over the given authors' notes (see themes.py)."""
    cipher = keys.client_cipher(client)
    notes = load_notes(
        client,
        author_ids,
        date_from=date_from,
        date_to=date_to,
        include_drafts=include_drafts,
        cipher=cipher,
    )
    return theme_history(
        notes,
        load_scripts(client, cipher),
        load_figures(client, cipher),
        load_attended(client, timezone),
        client_id=client.id,
        date_from=date_from,
        date_to=date_to,
        include_drafts=include_drafts,
    )
