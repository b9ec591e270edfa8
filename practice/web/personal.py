"""Everyone's own keys: personal API tokens (created with the password again, and a code
when a second factor is on — the API's step-up; the secret shown once; revoked at once)
and, for clinicians, the calendar feed link (issued or reissued, shown once; stopped)."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime, time

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.tokens import TokenCreateSchema
from practice.auth import service
from practice.database import utcnow
from practice.extensions import db
from practice.scheduling import ical
from practice.scheduling.models import CalendarFeed
from practice.web.desk import flat_errors
from practice.web.pages import signed_in

bp = Blueprint("web_personal", __name__)
TOKEN_LIMIT = 200


def _tokens_page(status: int = 200, **context):
    context.setdefault("errors", {})
    context.setdefault("form", {})
    listed = db.session.scalars(
        service.tokens_of(current_user._get_current_object()).limit(TOKEN_LIMIT)
    ).all()
    now = utcnow()
    return render_template(
        "personal/tokens.html",
        tokens=listed,
        now=now,
        done=request.args.get("done") == "revoked",
        **context,
    ), status


def _expiry(text: str):
    """A date typed in the form as the end of that day in the practice's zone (the API
    takes a moment with its offset)."""
    if not text:
        return None
    day = datetime.strptime(text, "%Y-%m-%d").date()
    zone = zoneinfo.ZoneInfo(current_user.practice.timezone)
    return datetime.combine(day, time(23, 59), tzinfo=zone).isoformat()


@bp.route("/account/tokens", methods=["GET", "POST"])
@signed_in
def tokens():
    """Your API tokens (never their secrets): name, start, created, expiry, last use."""
    if request.method == "GET":
        return _tokens_page()
    form = {
        "name": request.form.get("name", "").strip(),
        "expires": request.form.get("expires", ""),
    }
    body = {"name": form["name"], "password": request.form.get("password", "")}
    if request.form.get("totp", "").strip():
        body["totp"] = request.form["totp"].strip()
    try:
        body["expires_at"] = _expiry(form["expires"])
    except ValueError:
        return _tokens_page(422, form=form, errors={"expires": ["Enter a date."]})
    try:
        args = TokenCreateSchema().load(body)
    except ValidationError as exc:
        return _tokens_page(422, form=form, errors=flat_errors(exc.messages))
    user = current_user._get_current_object()
    try:
        service.reauthenticate(user, args["password"], args.get("totp"), "auth.token_create")
    except service.SignInRefused as refusal:
        db.session.commit()  # the failure counters and audit entries stick
        status = 429 if refusal.retry_after is not None else 403
        return _tokens_page(status, form=form, errors={"password": [refusal.message]})
    try:
        token, secret = service.issue_api_token(user, args["name"], expires_at=args["expires_at"])
    except service.PolicyError as exc:
        errors = flat_errors(exc.errors)
        if "expires_at" in errors:
            errors["expires"] = errors.pop("expires_at")
        return _tokens_page(422, form=form, errors=errors)
    return _tokens_page(created=token, secret=secret)


@bp.post("/account/tokens/<uuid:token_id>/revoke")
@signed_in
def revoke_token(token_id: uuid.UUID):
    """Revoke one of your tokens; it stops working at once."""
    token = service.revoke_api_token(current_user._get_current_object(), token_id)
    if token is None:
        abort(404)
    return redirect(url_for("web_personal.tokens", done="revoked"))


def _clinician():
    if not current_user.has_role("clinician"):
        abort(404)
    return current_user._get_current_object()


@bp.get("/account/calendar")
@signed_in
def calendar():
    """Your calendar feed: whether it is on and since when; its link is shown only when
    (re)issued, since only a hash of its secret is kept."""
    me = _clinician()
    feed = db.session.get(CalendarFeed, me.id)
    done = request.args.get("done") == "stopped"
    return render_template("personal/calendar.html", feed=feed, url=None, stopped=done)


@bp.post("/account/calendar")
@signed_in
def calendar_issue():
    """Issue the feed link, or a new one (the old link stops working)."""
    me = _clinician()
    token = ical.issue_token(me)
    url = url_for("calendar.CalendarFeed", clinician_id=me.id, token=token, _external=True)
    feed = db.session.get(CalendarFeed, me.id)
    return render_template("personal/calendar.html", feed=feed, url=url, stopped=False)


@bp.post("/account/calendar/stop")
@signed_in
def calendar_stop():
    """Stop the feed: its link stops working."""
    me = _clinician()
    if not ical.revoke_token(me):
        abort(409, "There is no calendar feed to stop.")
    return redirect(url_for("web_personal.calendar", done="stopped"))
