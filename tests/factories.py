"""make_x helpers that build rows directly through the services (no HTTP)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date

from practice.auth import service as auth_service
from practice.auth.models import Practice, User
from practice.clients.models import CareTeamMember, Client
from practice.extensions import db

PASSWORD = "lantern orchard velvet harbour"
_counter = itertools.count(1)


def make_practice(name: str = "Harbour Lane Therapy", timezone: str = "Europe/Berlin") -> Practice:
    return auth_service.create_practice(name, timezone)


def make_user(
    practice: Practice, roles=("clinician",), *, name: str | None = None, email: str | None = None
) -> User:
    n = next(_counter)
    return auth_service.create_user(
        practice,
        email=email or f"user{n}-{uuid.uuid4().hex[:6]}@example.test",
        name=name or f"Testperson Number{n}",
        roles=list(roles),
        password=PASSWORD,
    )


def bearer(user: User) -> dict[str, str]:
    """Authorization header for `user` via a fresh personal API token."""
    _token, secret = auth_service.issue_api_token(user, "tests")
    return {"Authorization": f"Bearer {secret}"}


def make_client(
    practice: Practice,
    clinician: User,
    *,
    first_name: str = "Ada",
    last_name: str | None = None,
    care_team=(),
    status: str = "active",
) -> Client:
    n = next(_counter)
    client = Client(
        practice_id=practice.id,
        first_name=first_name,
        last_name=last_name or f"Quillfeather{n}",
        primary_clinician_id=clinician.id,
        status=status,
        intake_date=date(2026, 1, 5),
    )
    db.session.add(client)
    db.session.flush()
    for member in care_team:
        db.session.add(CareTeamMember(client_id=client.id, user_id=member.id))
    db.session.flush()
    return client


def make_appointment(
    client: Client,
    clinician: User | None = None,
    *,
    starts_at=None,
    minutes: int = 50,
    kind: str = "individual",
    modality: str = "in_person",
    status: str = "scheduled",
    room=None,
    cancelled_by: str | None = None,
    cancel_reason: str | None = None,
):
    """An Appointment row inserted directly (no conflict checks); starts tomorrow by default."""
    from datetime import timedelta

    from practice.database import utcnow
    from practice.scheduling.models import Appointment

    start = starts_at or utcnow().replace(microsecond=0) + timedelta(days=1)
    appointment = Appointment(
        practice_id=client.practice_id,
        client_id=client.id,
        clinician_id=(clinician.id if clinician else client.primary_clinician_id),
        room_id=room.id if room is not None else None,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        kind=kind,
        modality=modality,
        status=status,
        cancelled_by=cancelled_by,
        cancel_reason=cancel_reason,
    )
    db.session.add(appointment)
    db.session.flush()
    return appointment
