"""The owner's pages: users (create with a temporary password shown once, roles,
deactivate, reset a lost second factor), supervision links, rooms, the practice's
settings and the audit log with the chain's state.

Every change goes through the same services as the API (auth/admin.py, supervision.py,
scheduling/rooms.py, auth/service.py) and the API's schemas; nothing here reaches
clinical text.
"""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from practice.api.audit import AuditArgs
from practice.api.practice_settings import PracticeUpdateSchema
from practice.api.rooms import RoomCreateSchema, RoomUpdateSchema
from practice.api.users import UserCreateSchema, UserUpdateSchema
from practice.audit import listing, names
from practice.audit import service as audit
from practice.audit.chain_state import AUTO_CHECK_ENTRIES, chain_length, chain_state
from practice.audit.models import AuditEntry
from practice.auth import admin, policy, service, supervision
from practice.auth.models import ROLES, Supervision, User
from practice.errors import Conflict
from practice.extensions import db
from practice.scheduling import rooms
from practice.scheduling.models import Room
from practice.web.desk import flat_errors
from practice.web.pages import role_pages

bp = Blueprint("web_admin", __name__)
AUDIT_PAGE = 50
DONE = {
    "saved": "Saved.",
    "deactivated": "The user is deactivated: their sessions have ended and their API tokens "
    "are revoked. An open browser of theirs is signed out at its next click.",
    "reactivated": "The user is active again.",
    "factor_reset": "The second factor is removed: their sessions have ended and their API "
    "tokens are revoked. They set up a new one at their next sign-in if the practice "
    "requires it.",
    "requested": "Asked. The link takes effect only when the clinician accepts it.",
    "open": "This pair already has an open link (shown below).",
    "ended": "The link has ended; the supervisor has lost access.",
    "room_added": "The room is added.",
}


# Owner pages: owners only.
owner_pages = role_pages("owner")


def _done() -> str | None:
    return DONE.get(request.args.get("done", ""))


def _users() -> list[User]:
    return db.session.scalars(
        sa.select(User)
        .where(User.practice_id == current_user.practice_id)
        .order_by(User.name, User.id)
    ).all()


def _user(user_id: uuid.UUID) -> User:
    """A user of the owner's practice, or the 404 page (audited, like the API)."""
    user = db.session.get(User, user_id)
    if user is None or not policy.in_practice(current_user, user):
        policy.deny("user", user_id)
    return user


# --- users -------------------------------------------------------------------------


@bp.get("/admin/users")
@owner_pages
def users():
    return render_template("admin/users.html", users=_users(), done=_done())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@owner_pages
def new_user():
    """Create a user with roles; their temporary password is shown on the next page only."""
    if request.method == "GET":
        return render_template("admin/new_user.html", form={"roles": []}, errors={}, roles=ROLES)
    form = {
        "email": request.form.get("email", ""),
        "name": request.form.get("name", "").strip(),
        "roles": request.form.getlist("roles"),
        "password": "not-used-here",
    }
    try:
        args = UserCreateSchema().load(form)
    except ValidationError as exc:
        errors = flat_errors(exc.messages)
        return render_template("admin/new_user.html", form=form, errors=errors, roles=ROLES), 422
    args.pop("password")
    try:
        user, password = admin.create_user(current_user, **args)
    except service.PolicyError as exc:
        return render_template(
            "admin/new_user.html", form=form, errors=flat_errors(exc.errors), roles=ROLES
        ), 422
    return render_template("admin/user_created.html", user=user, password=password)


def _user_page(user: User, status: int = 200, **context):
    context.setdefault("errors", {})
    context.setdefault("form", {"name": user.name, "roles": user.roles})
    supervising, supervised = supervision.links_of(user)
    return render_template(
        "admin/user.html",
        user=user,
        roles=ROLES,
        done=_done(),
        links=supervising + supervised,
        people={u.id: u.name for u in _users()},
        **context,
    ), status


@bp.route("/admin/users/<uuid:user_id>", methods=["GET", "POST"])
@owner_pages
def user(user_id: uuid.UUID):
    """A user: name and roles (dropping a role ends the supervision links it was part of)."""
    person = _user(user_id)
    if request.method == "GET":
        return _user_page(person)
    form = {"name": request.form.get("name", "").strip(), "roles": request.form.getlist("roles")}
    try:
        args = UserUpdateSchema().load(form)
    except ValidationError as exc:
        return _user_page(person, 422, form=form, errors=flat_errors(exc.messages))
    try:
        admin.update_user(current_user, person, args)
    except admin.OwnSeat:
        errors = {"roles": ["You cannot drop your own owner role; another owner can."]}
        return _user_page(person, 409, form=form, errors=errors)
    return redirect(url_for("web_admin.user", user_id=person.id, done="saved"))


@bp.post("/admin/users/<uuid:user_id>/active")
@owner_pages
def user_active(user_id: uuid.UUID):
    """Deactivate (every session and API token of theirs ends) or reactivate."""
    person = _user(user_id)
    wanted = request.form.get("active")
    if wanted not in ("yes", "no"):
        abort(400, "Say whether the user is to be active.")
    try:
        admin.update_user(current_user, person, {"active": wanted == "yes"})
    except admin.OwnSeat:
        abort(409, "You cannot deactivate yourself; another owner can.")
    done = "reactivated" if wanted == "yes" else "deactivated"
    return redirect(url_for("web_admin.user", user_id=person.id, done=done))


@bp.post("/admin/users/<uuid:user_id>/two-factor-reset")
@owner_pages
def user_factor_reset(user_id: uuid.UUID):
    """Remove a user's lost second factor (their sessions end and tokens are revoked),
    after the owner's own password (and code when they have a factor): a wrong answer is
    403, audited and counted by the sign-in throttle (429 when used up)."""
    person = _user(user_id)
    try:
        service.reauthenticate(
            current_user._get_current_object(),
            request.form.get("password", ""),
            request.form.get("totp", "").strip() or None,
            "user.totp_reset",
        )
    except service.SignInRefused as refusal:
        db.session.commit()  # the failure counters and audit entries stick
        status = 429 if refusal.retry_after is not None else 403
        return _user_page(person, status, reset_errors={"reset_password": [refusal.message]})
    try:
        admin.reset_second_factor(current_user, person)
    except admin.OwnSeat:
        abort(409, "Turn off your own second factor on your account page.")
    return redirect(url_for("web_admin.user", user_id=person.id, done="factor_reset"))


# --- supervision -------------------------------------------------------------------


def _supervision_page(status: int = 200, **context):
    everyone = _users()
    links = db.session.scalars(
        sa.select(Supervision)
        .where(Supervision.practice_id == current_user.practice_id, supervision.OPEN)
        .order_by(Supervision.created_at, Supervision.id)
    ).all()
    context.setdefault("errors", {})
    context.setdefault("form", {})
    return render_template(
        "admin/supervision.html",
        links=links,
        people={u.id: u.name for u in everyone},
        supervisors=[u for u in everyone if u.active and u.has_role("supervisor")],
        clinicians=[u for u in everyone if u.active and u.has_role("clinician")],
        done=_done(),
        **context,
    ), status


def _form_uuid(name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.form.get(name, ""))
    except ValueError:
        return None


@bp.route("/admin/supervision", methods=["GET", "POST"])
@owner_pages
def supervision_links():
    """Open links (pending: asked, not yet accepted; in effect: accepted) and asking for
    a new one. A link gives the supervisor nothing until the clinician accepts it."""
    if request.method == "GET":
        return _supervision_page()
    form = {k: request.form.get(k, "") for k in ("supervisor_id", "clinician_id")}
    errors = {}
    ids = {}
    for name in form:
        ids[name] = _form_uuid(name)
        person = db.session.get(User, ids[name]) if ids[name] else None
        if person is None or not policy.in_practice(current_user, person):
            errors[name] = ["Choose someone from the list."]
        else:
            ids[name] = person
    if errors:
        return _supervision_page(422, errors=errors, form=form)
    try:
        _link, created = supervision.request(
            current_user, ids["supervisor_id"], ids["clinician_id"]
        )
    except service.PolicyError as exc:
        errors = flat_errors(exc.errors)
        if "supervisor" in errors:
            errors["supervisor_id"] = errors.pop("supervisor")
        return _supervision_page(422, errors=errors, form=form)
    return redirect(url_for("web_admin.supervision_links", done="requested" if created else "open"))


@bp.post("/admin/supervision/<uuid:link_id>/end")
@owner_pages
def supervision_end(link_id: uuid.UUID):
    """End a link in effect, or withdraw a pending request."""
    link = db.session.get(Supervision, link_id)
    if link is None or link.practice_id != current_user.practice_id:
        policy.deny("supervision", link_id)
    if not supervision.end(current_user, link):
        abort(409, "This link had already ended.")
    return redirect(url_for("web_admin.supervision_links", done="ended"))


# --- rooms -------------------------------------------------------------------------


def _rooms_page(status: int = 200, **context):
    found = db.session.scalars(
        sa.select(Room)
        .where(Room.practice_id == current_user.practice_id)
        .order_by(Room.active.desc(), Room.name, Room.id)
    ).all()
    context.setdefault("errors", {})
    context.setdefault("form", {})
    context.setdefault("room_errors", {})
    return render_template("admin/rooms.html", rooms=found, done=_done(), **context), status


@bp.route("/admin/rooms", methods=["GET", "POST"])
@owner_pages
def rooms_page():
    """The rooms, and adding one (names unique in the practice, ignoring case)."""
    if request.method == "GET":
        return _rooms_page()
    form = {"name": request.form.get("name", "")}
    try:
        args = RoomCreateSchema().load(form)
    except ValidationError as exc:
        return _rooms_page(422, errors=flat_errors(exc.messages), form=form)
    try:
        rooms.create_room(current_user, args["name"].strip())
    except Conflict as error:
        return _rooms_page(409, errors={"name": [error.message]}, form=form)
    return redirect(url_for("web_admin.rooms_page", done="room_added"))


@bp.post("/admin/rooms/<uuid:room_id>")
@owner_pages
def room(room_id: uuid.UUID):
    """Rename a room, or take it out of use (its bookings keep it) and back."""
    found = rooms.get_room_for(current_user, room_id)
    form = {"name": request.form.get("name", found.name)}
    if request.form.get("active") in ("yes", "no"):
        form["active"] = request.form["active"] == "yes"
    try:
        args = RoomUpdateSchema().load(form)
    except ValidationError as exc:
        return _rooms_page(422, room_errors={found.id: flat_errors(exc.messages)})
    args["name"] = args["name"].strip()
    try:
        rooms.update_room(found, args)
    except Conflict as error:
        return _rooms_page(409, room_errors={found.id: {"name": [error.message]}})
    return redirect(url_for("web_admin.rooms_page", done="saved"))


# --- practice settings -------------------------------------------------------------


@bp.route("/admin/practice", methods=["GET", "POST"])
@owner_pages
def settings():
    """Name, time zone, region for phone numbers without a country code, require TOTP."""
    practice = current_user.practice
    zones = sorted(zoneinfo.available_timezones())
    if request.method == "GET":
        form = {
            "name": practice.name,
            "timezone": practice.timezone,
            "phone_region": practice.phone_region or "",
            "require_totp": practice.require_totp,
        }
        return render_template(
            "admin/practice.html", form=form, errors={}, zones=zones, done=_done()
        )
    form = {
        "name": request.form.get("name", "").strip(),
        "timezone": request.form.get("timezone", ""),
        "phone_region": request.form.get("phone_region", "").strip() or None,
        "require_totp": request.form.get("require_totp") == "yes",
    }
    try:
        args = PracticeUpdateSchema().load(form)
        service.update_practice(practice, current_user, args)
    except ValidationError as exc:
        errors = flat_errors(exc.messages)
    except service.PolicyError as exc:
        errors = flat_errors(exc.errors)
    else:
        return redirect(url_for("web_admin.settings", done="saved"))
    form["phone_region"] = form["phone_region"] or ""
    page = render_template("admin/practice.html", form=form, errors=errors, zones=zones, done=None)
    return page, 422


# --- the audit log -----------------------------------------------------------------


def _audit_filters(zone) -> tuple[dict, dict, dict]:
    """(the filters as typed, the API's AuditArgs loaded from them, field errors)."""
    typed = {
        name: request.args.get(name, "").strip()
        for name in ("actor_id", "action", "object_type", "object_id", "outcome", "since", "until")
    }
    raw: dict = {k: v for k, v in typed.items() if v and k not in ("since", "until")}
    errors: dict = {}
    for name, shift in (("since", timedelta(0)), ("until", timedelta(days=1))):
        if not typed[name]:
            continue
        try:
            day = datetime.strptime(typed[name], "%Y-%m-%d").date()
            local = datetime.combine(day, time(0), tzinfo=zone) + shift
            raw[name] = local.isoformat()
        except ValueError:
            errors[name] = ["Enter a date."]
    raw["page"] = request.args.get("page", "1")
    raw["page_size"] = str(AUDIT_PAGE)
    try:
        args = AuditArgs().load(raw)
    except ValidationError as exc:
        errors.update(flat_errors(exc.messages))
        args = {}
    return typed, args, errors


def _local(moment: datetime, zone) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%-d %b %Y %H:%M:%S")


@bp.get("/admin/audit")
@owner_pages
def audit_log():
    """The practice's audit entries, newest first: filters (who, action, object, period),
    readable action names, pages of 50, and the state of the chain."""
    zone = zoneinfo.ZoneInfo(current_user.practice.timezone)
    typed, args, errors = _audit_filters(zone)
    if errors:
        entries, total, page = [], 0, 1
    else:
        query = listing.practice_entries(current_user.practice_id, args)
        page = args["page"]
        total = db.session.scalar(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        )
        entries = db.session.scalars(
            query.order_by(AuditEntry.occurred_at.desc(), AuditEntry.seq.desc())
            .limit(AUDIT_PAGE)
            .offset((page - 1) * AUDIT_PAGE)
        ).all()
    audit.record(
        db.session, "audit.read", object_type="practice", object_id=current_user.practice_id
    )
    people = {u.id: u.name for u in _users()}
    pages = max(1, -(-total // AUDIT_PAGE))
    length = chain_length(db.session, current_user.practice_id)
    asked = request.args.get("check") == "1"
    state = None
    if asked or length <= AUTO_CHECK_ENTRIES:
        state = chain_state(db.session, current_user.practice_id)
    links = {k: v for k, v in typed.items() if v}
    page_page = render_template(
        "admin/audit.html",
        entries=entries,
        total=total,
        page=page,
        pages=pages,
        typed=typed,
        links=links,
        errors=errors,
        people=people,
        # A user (or clinician) an entry is about, by name beside its id.
        named_objects={str(user_id): name for user_id, name in people.items()},
        zone=zone,
        action_names=names.ACTION_NAMES,
        outcome_names=names.OUTCOME_NAMES,
        readable=names.readable,
        local=lambda moment: _local(moment, zone),
        state=state,
        length=length,
    )
    return page_page, 422 if errors else 200
