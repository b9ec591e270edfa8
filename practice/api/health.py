"""Liveness and database reachability."""

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from practice.extensions import db

blp = Blueprint("health", __name__, url_prefix="/api/v1/health", description="Service health")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()


@blp.route("")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, description="The database is unreachable")
    def get(self):
        """Report whether the service and its database answer."""
        try:
            db.session.execute(sa.text("SELECT 1"))
        except SQLAlchemyError:
            db.session.rollback()
            db.session.remove()
            abort(503, message="The database is unavailable.")
        return {"status": "ok", "database": "ok"}
