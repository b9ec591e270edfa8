"""Sealed figures, scripts, notes and attended appointments, built straight on the models
(so theme-history tests need nothing but the schema and the key service)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from practice.database import new_id
from practice.extensions import db
from practice.keys import client_keys
from practice.notes.models import Figure, ProcessNote, Script
from practice.scheduling.models import Appointment
from tests.factories import make_appointment


def make_figure(client, author, label: str, role: str, *, therapist: bool = False) -> Figure:
    figure = Figure(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        is_therapist=therapist,
        created_by=author.id,
    )
    payload = {"label": label, "role": role, "period": "current"}
    figure.payload = client_keys.seal(client, "figures", "payload", figure.id, payload)
    db.session.add(figure)
    db.session.flush()
    return figure


def make_script(client, author, name: str, *, status="working", merged_into=None) -> Script:
    script = Script(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        status=status,
        merged_into_id=merged_into.id if merged_into else None,
        created_by=author.id,
    )
    payload = {
        "name": name,
        "wish": "to be seen",
        "response_of_other": "criticises",
        "response_of_self": "withdraws",
        "origin": "invented for tests",
    }
    script.payload = client_keys.seal(client, "scripts", "payload", script.id, payload)
    db.session.add(script)
    db.session.flush()
    return script


def make_note(
    client, author, session_date: date, content: dict, *, status="signed", appointment=None
) -> ProcessNote:
    note = ProcessNote(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        author_id=author.id,
        appointment_id=appointment.id if appointment else None,
        session_date=session_date,
        status=status,
        signed_at=datetime.now(UTC) if status == "signed" else None,
    )
    note.content = client_keys.seal(client, "process_notes", "content", note.id, content)
    db.session.add(note)
    db.session.flush()
    return note


def make_attended(
    client, clinician, day: date, *, status="attended", at: time = time(9, 0)
) -> Appointment:
    starts = datetime.combine(day, at, tzinfo=UTC)
    return make_appointment(client, clinician, starts_at=starts, status=status)


def episode(figure, script=None, **extra) -> dict:
    data = {
        "figure_id": str(figure.id),
        "when": "current",
        "wish": "to be seen",
        "response_of_other": "criticises",
        "response_of_self": "withdraws",
    }
    if script is not None:
        data["script_id"] = str(script.id)
    data.update(extra)
    return data
