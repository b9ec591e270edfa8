"""Builders for scheduling tests: a small clinic, rooms and payloads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from practice.auth.models import Practice, User
from practice.clients.models import Client
from practice.extensions import db
from practice.scheduling.models import Appointment, Room
from tests.factories import make_client, make_practice, make_user
from tests.helpers import settle

# A Monday well in the future, 10:00 UTC (11:00 in Berlin).
MONDAY = datetime(2031, 1, 6, 10, 0, tzinfo=UTC)


@dataclass
class Clinic:
    practice: Practice
    owner: User
    scheduler: User
    clinician: User
    other_clinician: User
    client: Client
    other_client: Client
    room: Room


def make_room(practice: Practice, name: str | None = None, active: bool = True) -> Room:
    room = Room(practice_id=practice.id, name=name or f"Room {uuid.uuid4().hex[:6]}", active=active)
    db.session.add(room)
    db.session.flush()
    return room


def make_clinic(timezone: str = "Europe/Berlin") -> Clinic:
    practice = make_practice(timezone=timezone)
    clinician = make_user(practice, ("clinician",))
    other = make_user(practice, ("clinician",))
    clinic = Clinic(
        practice=practice,
        owner=make_user(practice, ("owner",)),
        scheduler=make_user(practice, ("scheduler",)),
        clinician=clinician,
        other_clinician=other,
        client=make_client(practice, clinician),
        other_client=make_client(practice, other),
        room=make_room(practice, "Blue room"),
    )
    settle()
    return clinic


def payload(clinic: Clinic, start: datetime = MONDAY, minutes: int = 50, **extra) -> dict:
    body = {
        "client_id": str(clinic.client.id),
        "clinician_id": str(clinic.clinician.id),
        "starts_at": start.isoformat(),
        "duration_minutes": minutes,
        "kind": "individual",
        "modality": "in_person",
    }
    body.update(extra)
    return body


def count_appointments() -> int:
    return db.session.scalar(select(func.count()).select_from(Appointment))


def at(start: datetime, days: int = 0, hours: float = 0, minutes: int = 0) -> datetime:
    return start + timedelta(days=days, hours=hours, minutes=minutes)
