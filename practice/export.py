"""A client's record as one JSON document: demographics, care team, appointments, and the
signed progress notes, treatment plans and outcome measures (practice/record/export.py),
or, for a client whose key was shredded, a `record_destroyed` message in their place.

Built from explicit allowlists, so a column added to a model later never leaks into the
export by accident. Process notes, figures, scripts and every clinical field stay out
(psychotherapy notes are excluded from client-record exports, 45 CFR 164.524(a)(1)(i)),
and so does an appointment's free-text cancel reason.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from practice.audit import service as audit
from practice.auth import policy
from practice.auth.models import User
from practice.clients.models import Client
from practice.clients.service import DEMOGRAPHIC_FIELDS, get_client_for
from practice.database import utcnow
from practice.extensions import db
from practice.record.export import record_part
from practice.scheduling.models import Appointment, Room

FORMAT = "practice.client-export/1"
EXPORT_FIELDS = (
    "format",
    "exported_at",
    "client",
    "appointments",
    "progress_notes",
    "treatment_plans",
    "measures",
    "record_destroyed",
)
# An explicit allowlist: the demographics the record keeps, and its plain bookkeeping.
CLIENT_FIELDS = (
    "id",
    *DEMOGRAPHIC_FIELDS,
    "primary_clinician_id",
    "care_team_ids",
    "created_at",
    "updated_at",
)
APPOINTMENT_FIELDS = (
    "id",
    "clinician_id",
    "starts_at",
    "ends_at",
    "kind",
    "modality",
    "status",
    "cancelled_by",
    "room_id",
    "room_name",
)


def _plain(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _client_part(client: Client) -> dict:
    part = {n: _plain(getattr(client, n)) for n in CLIENT_FIELDS if n != "care_team_ids"}
    part["care_team_ids"] = sorted(str(member) for member in client.care_team_ids)
    return part


def _appointments_part(client: Client) -> list[dict]:
    rows = db.session.execute(
        sa.select(Appointment, Room.name)
        .outerjoin(Room, Room.id == Appointment.room_id)
        .where(Appointment.client_id == client.id, Appointment.practice_id == client.practice_id)
        .order_by(Appointment.starts_at, Appointment.id)
    )
    result = []
    for appointment, room_name in rows:
        result.append(
            {
                name: room_name if name == "room_name" else _plain(getattr(appointment, name))
                for name in APPOINTMENT_FIELDS
            }
        )
    return result


def export_client(user: User, client_id: uuid.UUID) -> dict:
    """The export document; 404 for a client the caller cannot see, 403 for a role that
    sees it but may not export it. Audited."""
    client = get_client_for(user, client_id)
    if not policy.can_export_client(user, client):
        policy.deny(
            "client_export",
            client.id,
            forbidden=True,
            message="Only owners and the client's clinicians can export a record.",
        )
    document = {
        "format": FORMAT,
        "exported_at": utcnow().isoformat(),
        "client": _client_part(client),
        "appointments": _appointments_part(client),
        **record_part(client),  # signed progress notes and plans: the client's record
    }
    audit.record(db.session, "client.export", object_type="client", object_id=client.id)
    return document
