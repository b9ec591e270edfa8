"""One practice with a user of every persona and one object of every kind, plus a user of
another practice: the fixture behind the access matrix (SECURITY.md item 8)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from practice.auth import passwords
from practice.auth import service as auth_service
from practice.auth.models import Supervision, User
from practice.database import utcnow
from practice.extensions import db
from practice.scheduling.models import Room
from tests.factories import PASSWORD, make_appointment, make_client, make_practice

PERSONAS = (
    "owner",
    "author",
    "other_clinician",
    "scheduler",
    "supervisor",
    "other_practice",
    "anonymous",
)
PERSONA_ROLES = {
    "owner": ["owner"],
    "author": ["clinician"],
    "other_clinician": ["clinician"],
    "scheduler": ["scheduler"],
    "supervisor": ["supervisor"],
    "other_practice": ["owner", "clinician", "scheduler", "supervisor"],
}


@cache
def _password_hash() -> str:
    return passwords.hash_password(PASSWORD)


def _user(practice, roles, label: str) -> User:
    """A user without paying for a fresh argon2 hash each time (same password for all)."""
    user = User(
        practice_id=practice.id,
        email=f"{label}-{uuid.uuid4().hex[:8]}@matrix.practice.test",
        name=f"Matrix {label.replace('_', ' ').title()}",
        password_hash=_password_hash(),
    )
    user.roles = roles
    db.session.add(user)
    db.session.flush()
    return user


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, uuid.UUID] = field(default_factory=dict)


def build_world(http) -> World:
    """Create the practice, personas and objects; the author writes clinical objects via HTTP."""
    world = World()
    practice = make_practice("Matrix Street Therapy")
    other = make_practice("Elsewhere Counselling")
    for persona, roles in PERSONA_ROLES.items():
        home = other if persona == "other_practice" else practice
        user = _user(home, roles, persona)
        world.users[persona] = user
        _token, secret = auth_service.issue_api_token(user, "matrix")
        world.headers[persona] = {"Authorization": f"Bearer {secret}"}
    world.headers["anonymous"] = {}
    author = world.users["author"]
    supervisor = world.users["supervisor"]
    # The author accepted their supervisor; the other clinician has not answered yet.
    db.session.add_all(
        [
            link := Supervision(
                practice_id=practice.id,
                supervisor_id=supervisor.id,
                supervisee_id=author.id,
                accepted_at=utcnow(),
            ),
            pending := Supervision(
                practice_id=practice.id,
                supervisor_id=supervisor.id,
                supervisee_id=world.users["other_clinician"].id,
            ),
        ]
    )
    room = Room(practice_id=practice.id, name="Garden Room")
    db.session.add(room)
    client = make_client(practice, author, first_name="Wren", last_name="Matrixson")
    start = (utcnow() + timedelta(days=7)).replace(microsecond=0)
    appointment = make_appointment(client, author, starts_at=start)
    token, _secret = auth_service.issue_api_token(author, "to revoke")
    db.session.flush()
    world.ids.update(
        practice=practice.id,
        client=client.id,
        room=room.id,
        appointment=appointment.id,
        author_token=token.id,
        link=link.id,
        pending_link=pending.id,
    )

    as_author = world.headers["author"]
    base = f"/api/v1/clients/{client.id}"
    figure = _ok(
        http.post(
            f"{base}/figures",
            headers=as_author,
            json={"label": "Sam", "role": "partner", "period": "current"},
        )
    )
    script = _ok(http.post(f"{base}/scripts", headers=as_author, json={"name": "Expects rebuff"}))
    second = _ok(http.post(f"{base}/scripts", headers=as_author, json={"name": "Hides need"}))
    draft = _ok(
        http.post(
            f"{base}/notes",
            headers=as_author,
            json={"session_date": str(date.today()), "content": {}},
        )
    )
    signed = _ok(
        http.post(
            f"{base}/notes",
            headers=as_author,
            json={"session_date": str(date.today() - timedelta(days=7)), "content": {}},
        )
    )
    _ok(http.post(f"/api/v1/notes/{signed['id']}/sign", headers={**as_author, "If-Match": '"1"'}))
    _ok(http.post(f"/api/v1/clinicians/{author.id}/calendar-token", headers=as_author))
    gad7 = {"instrument": "gad7", "appointment_id": str(appointment.id)}
    gad7["responses"] = {str(item): 1 for item in range(1, 8)}
    measure = _ok(http.post(f"{base}/measures", headers=as_author, json=gad7))
    world.ids.update(
        measure=uuid.UUID(measure["id"]),
        figure=uuid.UUID(figure["id"]),
        script=uuid.UUID(script["id"]),
        second_script=uuid.UUID(second["id"]),
        draft_note=uuid.UUID(draft["id"]),
        signed_note=uuid.UUID(signed["id"]),
    )
    world.ids.update(_clinical_record(practice, author, client))
    return world


def _clinical_record(practice, author: User, client) -> dict[str, uuid.UUID]:
    """A draft and a signed progress note of the client (the world's `appointment` stays
    free for a new one), and a draft plan of a second client of the author, ready to sign."""
    from practice.actor import Actor
    from practice.record import plans, progress

    actor = Actor(user=author, via="token")
    past = (utcnow() - timedelta(days=3)).replace(microsecond=0)
    drafted, signing = (
        make_appointment(client, author, starts_at=past - timedelta(days=days), status="attended")
        for days in (0, 7)
    )
    content = {"service_code": "90834"}
    draft, _content = progress.create_note(actor, client, drafted.id, content)
    signed, _content = progress.create_note(actor, client, signing.id, content)
    progress.sign_note(signed, client, signed.version)
    second = make_client(practice, author, first_name="Ash", last_name="Planson")
    goal = {"text": "Notice the script as it happens"}
    plan, _content = plans.create_plan(actor, second, {"goals": [goal]}, date(2027, 6, 1))
    return {
        "draft_progress_note": draft.id,
        "signed_progress_note": signed.id,
        "draft_plan": plan.id,
    }


def _ok(response) -> dict:
    assert response.status_code in (200, 201), (response.status_code, response.get_json())
    return response.get_json()
