"""Rooms: everyone in the practice lists them; owners create, rename and deactivate."""

from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from practice.api.common import PageArgs, page_of, paginate
from practice.login import roles_required
from practice.scheduling import rooms
from practice.scheduling.models import Room

blp = Blueprint("rooms", __name__, url_prefix="/api/v1/rooms", description="Rooms")


def _room_name(value: str) -> None:
    if not value.strip() or not value.isprintable():
        raise ValidationError("A room needs a printable, non-blank name.")


class RoomCreateSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=100), _room_name])


class RoomUpdateSchema(Schema):
    name = fields.String(validate=[validate.Length(min=1, max=100), _room_name])
    active = fields.Boolean()


class RoomListArgs(PageArgs):
    active = fields.Boolean()


class RoomSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()


@blp.route("")
class Rooms(MethodView):
    @login_required
    @blp.arguments(RoomListArgs, location="query")
    @blp.response(200, page_of(RoomSchema))
    def get(self, args):
        """List the practice's rooms, by name."""
        query = sa.select(Room).where(Room.practice_id == current_user.practice_id)
        if "active" in args:
            query = query.where(Room.active.is_(args["active"]))
        return paginate(query.order_by(Room.name, Room.id), args)

    @roles_required("owner")
    @blp.arguments(RoomCreateSchema)
    @blp.response(201, RoomSchema)
    @blp.alt_response(409, description="A room with this name exists")
    def post(self, args):
        """Add a room (names are unique in the practice, ignoring case)."""
        return rooms.create_room(current_user, args["name"].strip())


@blp.route("/<uuid:room_id>")
class RoomItem(MethodView):
    @login_required
    @blp.response(200, RoomSchema)
    def get(self, room_id):
        """One room."""
        return rooms.get_room_for(current_user, room_id)

    @roles_required("owner")
    @blp.arguments(RoomUpdateSchema)
    @blp.response(200, RoomSchema)
    @blp.alt_response(409, description="A room with this name exists")
    def patch(self, args, room_id):
        """Rename a room or deactivate it (`{"active": false}`); bookings keep it."""
        room = rooms.get_room_for(current_user, room_id)
        if "name" in args:
            args["name"] = args["name"].strip()
        return rooms.update_room(room, args)
