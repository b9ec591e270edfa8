"""Theme history and the session brief, read for a user: access, decryption and the
audit entries in one call, for the API and the web pages alike."""

from __future__ import annotations

import uuid
from datetime import date

from practice.audit import service as audit
from practice.auth.models import User
from practice.clients.models import Client
from practice.errors import Invalid
from practice.extensions import db
from practice.notes.access import note_authors_for, theme_authors_for
from practice.notes.service import notes_query
from practice.scheduling.models import Appointment
from practice.scheduling.service import get_appointment_for, practice_zone
from practice.themes.brief import session_brief
from practice.themes.inputs import AppointmentInput, NoteInput, session_numbers
from practice.themes.loader import client_theme_history, load_attended


def theme_history(
    user: User,
    client_id: uuid.UUID,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    include_drafts: bool = False,
    action: str = "themes.read",
) -> tuple[Client, dict]:
    """The client and their theme history over the notes the user reads as part of the
    client's care (notes.access.theme_authors_for), audited as `action` ("themes.read",
    or "themes.export" for a file). Invalid when the window is empty."""
    client, authors = theme_authors_for(user, client_id)
    if date_from and date_to and date_from > date_to:
        raise Invalid({"from": ["After `to`."]}, "The window is empty.", location="query")
    history = client_theme_history(
        client,
        authors,
        user.practice.timezone,
        date_from=date_from,
        date_to=date_to,
        include_drafts=include_drafts,
    )
    audit.record(db.session, action, object_type="client", object_id=client.id)
    return client, history


def brief_for(user: User, appointment_id: uuid.UUID) -> tuple[Appointment, Client, dict]:
    """An appointment of the user's with the brief for it (the last note, recent and
    dormant scripts, unresolved ruptures, the last enactment); the appointment, the
    theme history and every note the brief opened are audited."""
    appointment = get_appointment_for(user, appointment_id)
    client, authors = theme_authors_for(user, appointment.client_id)
    zone = practice_zone(user)
    starts = appointment.starts_at.astimezone(zone)
    brief = session_brief(client, authors, zone.key, starts.date())
    audit.record(
        db.session, "appointment.read", object_type="appointment", object_id=appointment.id
    )
    audit.record(db.session, "themes.read", object_type="client", object_id=client.id)
    for note_id in brief["read"]:
        audit.record(db.session, "note.read", object_type="note", object_id=note_id)
    return appointment, client, brief


def numbered_notes(user: User, client: Client) -> list[tuple]:
    """The notes about the client the user may read, newest first, each with its session
    number (attended appointments count too); each listed note audited."""
    authors = note_authors_for(user, client)
    if not authors:
        return []
    listed = db.session.scalars(notes_query(authors, client, desc=True)).all()
    attended = [
        AppointmentInput(uuid.UUID(str(aid)), day)
        for aid, day in load_attended(client, user.practice.timezone)
    ]
    inputs = [NoteInput(n.id, n.session_date, n.status, None, n.appointment_id) for n in listed]
    numbers = session_numbers(inputs, attended)
    for note in listed:
        audit.record(db.session, "note.list_item", object_type="note", object_id=note.id)
    return [(note, numbers.get(note.id)) for note in listed]
