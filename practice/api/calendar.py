"""A clinician's iCalendar feed: issue or revoke its secret URL, and serve the feed."""

from __future__ import annotations

import logging
import re

from flask import Response, request, url_for
from flask.views import MethodView
from flask_login import current_user, login_required
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields

from practice.api.openapi import FILE, if_none_match
from practice.auth import policy
from practice.auth.models import User
from practice.extensions import db
from practice.scheduling import ical

blp = Blueprint(
    "calendar",
    __name__,
    url_prefix="/api/v1/clinicians",
    description="Clinicians' iCalendar feeds",
)

FEED_NOT_FOUND = "No such calendar feed."
TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s\"']*")


class RedactFeedTokens(logging.Filter):
    """Blank `token=` in access-log lines (the development server's request log), so a
    feed URL copied from a log opens nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                TOKEN_IN_URL.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = TOKEN_IN_URL.sub(r"\1[redacted]", record.msg)
        return True


@blp.record_once
def _redact_access_log(_state) -> None:
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactFeedTokens) for f in access_log.filters):
        access_log.addFilter(RedactFeedTokens())


class FeedTokenSchema(Schema):
    token = fields.String()
    url = fields.String()


class FeedArgs(Schema):
    class Meta:
        unknown = EXCLUDE

    token = fields.String(load_default=None, metadata={"description": "the feed's secret"})


def _own_feed(clinician_id) -> User:
    """The caller themself, when they are the clinician named in the path."""
    if clinician_id != current_user.id:
        other = db.session.get(User, clinician_id)
        forbidden = policy.in_practice(current_user, other)
        policy.deny("calendar_feed", clinician_id, forbidden=forbidden)
    if not current_user.has_role("clinician"):
        policy.deny(
            "calendar_feed", clinician_id, forbidden=True, message="Only clinicians have a feed."
        )
    return current_user


@blp.route("/<uuid:clinician_id>/calendar-token")
class CalendarToken(MethodView):
    @login_required
    @blp.response(201, FeedTokenSchema)
    def post(self, clinician_id):
        """(Re)issue your feed's secret URL, shown once; the previous URL stops working."""
        clinician = _own_feed(clinician_id)
        token = ical.issue_token(clinician)
        url = url_for(
            "calendar.CalendarFeed", clinician_id=clinician.id, token=token, _external=True
        )
        return {"token": token, "url": url}

    @login_required
    @blp.response(204)
    def delete(self, clinician_id):
        """Revoke your feed; its URL stops working."""
        clinician = _own_feed(clinician_id)
        if not ical.revoke_token(clinician):
            policy.deny("calendar_feed", clinician.id)


@blp.route("/<uuid:clinician_id>/calendar.ics")
class CalendarFeed(MethodView):
    @blp.arguments(FeedArgs, location="query")
    @blp.response(200, FILE, content_type="text/calendar")
    @blp.doc(security=[{"calendarFeedToken": []}])
    @if_none_match
    def get(self, args, clinician_id):
        """The clinician's appointments as iCalendar (initials and kind only); no login."""
        clinician = ical.clinician_for_token(clinician_id, args["token"])
        if clinician is None:
            policy.deny("calendar_feed", clinician_id, message=FEED_NOT_FOUND)
        rows = ical.feed_appointments(clinician)
        tag = ical.fingerprint(rows)
        if tag in request.if_none_match:
            response = Response(status=304)
        else:
            response = Response(ical.render_feed(rows), mimetype="text/calendar")
        response.set_etag(tag)
        return response
