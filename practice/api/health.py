"""Liveness and database reachability, for load balancers and monitoring."""

import contextlib
import logging

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from practice.extensions import db

log = logging.getLogger("practice.health")
blp = Blueprint("health", __name__, url_prefix="/api/v1/health", description="Service health")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()


@blp.route("")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.doc(security=[])
    @blp.alt_response(503, description="The database is unreachable")
    def get(self):
        """Report whether the service and its database answer."""
        try:
            db.session.execute(sa.text("SELECT 1"))
        except SQLAlchemyError as error:
            log.warning("health check: database unavailable (%s)", type(error).__name__)
            with contextlib.suppress(SQLAlchemyError):
                db.session.rollback()
            # A fresh session next time; the pool's pre-ping replaces dead connections,
            # so the same process recovers as soon as the database answers again.
            db.session.remove()
            abort(503, message="The database is unavailable; try again shortly.")
        return {"status": "ok", "database": "ok"}
