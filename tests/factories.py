"""make_x helpers that build rows directly through the services (no HTTP)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from practice.auth import service as auth_service
from practice.auth import supervision
from practice.auth.models import Practice, Supervision, User
from practice.clients.models import CareTeamMember, Client
from practice.database import utcnow
from practice.extensions import db
from practice.scheduling.cancel_reasons import seal_reason
from practice.scheduling.models import Appointment

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


def link_supervisor(owner: User, supervisor: User, supervisee: User) -> Supervision:
    """A supervision link in effect: the owner asks, the supervisee accepts."""
    link, _created = supervision.request(owner, supervisor, supervisee)
    return supervision.accept(supervisee, link)


def end_supervision(supervisor: User, supervisee: User) -> None:
    """The supervisee ends the open link between the two."""
    assert supervision.end(supervisee, supervision.open_link(supervisor.id, supervisee.id))


def make_staff(practice: Practice, **more) -> dict[str, User]:
    """The staff of `practice` by part: "owner", "scheduler", the clinicians "mine" and
    "colleague", a "supervisor" who supervises nobody, then `more` (part=roles); and an
    "outsider", owner and clinician of another practice."""
    staff = {
        "owner": make_user(practice, ["owner"]),
        "scheduler": make_user(practice, ["scheduler"]),
        "mine": make_user(practice, ["clinician"]),
        "colleague": make_user(practice, ["clinician"]),
        "supervisor": make_user(practice, ["supervisor"]),
    }
    staff.update({part: make_user(practice, roles) for part, roles in more.items()})
    staff["outsider"] = make_user(make_practice("Far Away Clinic"), ["owner", "clinician"])
    return staff


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
        cancel_category="other" if cancel_reason else None,
    )
    db.session.add(appointment)
    db.session.flush()
    if cancel_reason:
        appointment.cancel_note = seal_reason(client, appointment, cancel_reason)
        db.session.flush()
    return appointment


@dataclass
class Team:
    """A clinic: an author with a client, everyone who must not read, and a supervisor."""

    practice: Practice
    owner: User
    scheduler: User
    author: User
    co_clinician: User
    colleague: User
    supervisor: User
    stranger: User
    client: Client
    other_client: Client
    foreign_client: Client
    link: Supervision


def make_team() -> Team:
    """A `Team`: a supervised author with two clients, and a stranger with one elsewhere."""
    practice = make_practice()
    owner = make_user(practice, ("owner",))
    author = make_user(practice, ("clinician",))
    co_clinician = make_user(practice, ("clinician",))
    supervisor = make_user(practice, ("clinician", "supervisor"))
    link = link_supervisor(owner, supervisor, author)
    elsewhere = make_practice("Other Shore Counselling")
    stranger = make_user(elsewhere, ("owner", "clinician", "supervisor"))
    return Team(
        practice=practice,
        owner=owner,
        scheduler=make_user(practice, ("scheduler",)),
        author=author,
        co_clinician=co_clinician,
        colleague=make_user(practice, ("clinician",)),
        supervisor=supervisor,
        stranger=stranger,
        client=make_client(practice, author, care_team=[co_clinician]),
        other_client=make_client(practice, author),
        foreign_client=make_client(elsewhere, stranger),
        link=link,
    )
