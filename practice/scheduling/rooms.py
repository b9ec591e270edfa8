"""Rooms of a practice: created and renamed by owners, deactivated rather than deleted."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from practice.audit import service as audit
from practice.auth import policy
from practice.auth.models import User
from practice.errors import Conflict
from practice.extensions import db
from practice.scheduling.models import Room


def get_room_for(actor: User, room_id: uuid.UUID) -> Room:
    """A room of the actor's practice, or 404."""
    room = db.session.get(Room, room_id)
    if room is None or not policy.in_practice(actor, room):
        policy.deny("room", room_id)
    return room


def _save(room: Room) -> None:
    """Flush `room` (new or changed); a duplicate name is a 409. The unique index on
    (practice_id, lower(name)) decides, concurrent requests included."""
    try:
        with db.session.begin_nested():
            db.session.add(room)
            db.session.flush()
    except IntegrityError:
        raise Conflict("A room with this name already exists.") from None


def create_room(actor: User, name: str) -> Room:
    """A new active room; names are unique per practice, ignoring case. Audited."""
    room = Room(id=uuid.uuid4(), practice_id=actor.practice_id, name=name, active=True)
    _save(room)
    audit.record(db.session, "room.create", object_type="room", object_id=room.id)
    return room


def update_room(room: Room, changes: dict) -> Room:
    """Rename and/or (de)activate; deactivated rooms keep their bookings but take no new
    ones. Audited."""
    if "name" in changes:
        room.name = changes["name"]
    if "active" in changes:
        room.active = changes["active"]
    _save(room)
    audit.record(db.session, "room.update", object_type="room", object_id=room.id)
    return room
