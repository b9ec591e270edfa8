"""Liveness, database reachability and whether the keyring holds every key the stored
data needs, for load balancers and monitoring. No key material, only key ids."""

import contextlib
import logging

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields
from sqlalchemy.exc import SQLAlchemyError

from practice.extensions import db
from practice.keys.client_keys import current_keyring
from practice.keys.rotation import missing_keys

log = logging.getLogger("practice.health")
blp = Blueprint("health", __name__, url_prefix="/api/v1/health", description="Service health")


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok, or degraded when keys are missing"})
    database = fields.String()
    keys = fields.String(metadata={"description": "ok, or missing"})
    missing_keys = fields.List(
        fields.String(),
        metadata={"description": "ids of master keys that stored data needs and the keyring lacks"},
    )


def _keys_part() -> dict:
    """Whether the keyring holds every master key that stored data names."""
    missing = missing_keys(db.session, current_keyring())
    if not missing:
        return {"keys": "ok"}
    ids = sorted(missing.data_keys)
    log.error(
        "health: the keyring lacks master key(s) %s (%d data key(s), %d user secret(s))",
        ", ".join(ids) or "-",
        sum(missing.data_keys.values()),
        missing.secrets,
    )
    return {"status": "degraded", "keys": "missing", "missing_keys": ids}


@blp.route("")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.doc(security=[])
    @blp.alt_response(503, description="The database is unreachable")
    def get(self):
        """Report whether the service and its database answer, and whether the keyring
        holds every master key the stored data needs (200 "degraded" when it does not:
        scheduling works, the affected clinical reads answer 503)."""
        try:
            db.session.execute(sa.text("SELECT 1"))
            keys = _keys_part()
        except SQLAlchemyError as error:
            log.warning("health check: database unavailable (%s)", type(error).__name__)
            with contextlib.suppress(SQLAlchemyError):
                db.session.rollback()
            # A fresh session next time; the pool's pre-ping replaces dead connections,
            # so the same process recovers as soon as the database answers again.
            db.session.remove()
            abort(503, message="The database is unavailable; try again shortly.")
        return {"status": "ok", "database": "ok", **keys}
