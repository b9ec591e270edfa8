"""Supervision links: an owner asks, the supervised clinician accepts or declines, and
either side (or an owner) ends it. Only an accepted, not-ended link gives a supervisor any
reach (policy.IN_EFFECT). Every step is audited, by link id only. Services flush; the
request commits.

State changes are compare-and-set on the row, so an accept racing a withdrawal (or two
accepts) ends with exactly one of them applied.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from practice.audit import service as audit
from practice.auth.models import Supervision, User
from practice.auth.service import PolicyError
from practice.database import utcnow
from practice.errors import Conflict
from practice.extensions import db

OPEN = Supervision.ended_at.is_(None)
PENDING = sa.and_(OPEN, Supervision.accepted_at.is_(None))


class Refused(Conflict, ValueError):
    """A step the link's state does not allow."""


def open_link(supervisor_id: uuid.UUID, supervisee_id: uuid.UUID) -> Supervision | None:
    """The pending or active link between the two, if any (there is at most one)."""
    return db.session.scalar(
        sa.select(Supervision).where(
            Supervision.supervisor_id == supervisor_id,
            Supervision.supervisee_id == supervisee_id,
            OPEN,
        )
    )


def request(owner: User, supervisor: User, supervisee: User) -> tuple[Supervision, bool]:
    """Ask `supervisee` to accept `supervisor`; (link, created). An open link (pending or
    active) between the two is returned as it is. Gives no reach until accepted."""
    if not supervisor.has_role("supervisor"):
        raise PolicyError({"supervisor": ["This user does not have the supervisor role."]})
    if not supervisee.has_role("clinician"):
        raise PolicyError({"clinician_id": ["This user is not a clinician."]})
    if supervisor.id == supervisee.id:
        raise PolicyError({"clinician_id": ["A clinician cannot supervise themselves."]})
    existing = open_link(supervisor.id, supervisee.id)
    if existing is not None:
        return existing, False
    link = Supervision(
        practice_id=owner.practice_id,
        supervisor_id=supervisor.id,
        supervisee_id=supervisee.id,
        requested_by_id=owner.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(link)
    except sa.exc.IntegrityError:
        # A concurrent request opened the same pair first (uq_supervisions_active_pair).
        return open_link(supervisor.id, supervisee.id), False
    audit.record(db.session, "supervision.request", object_type="supervision", object_id=link.id)
    return link, True


def links_of(user: User) -> tuple[list[Supervision], list[Supervision]]:
    """The user's open links: (supervising them, supervised by them), oldest first."""
    rows = db.session.scalars(
        sa.select(Supervision)
        .where(
            Supervision.practice_id == user.practice_id,
            sa.or_(Supervision.supervisee_id == user.id, Supervision.supervisor_id == user.id),
            OPEN,
        )
        .order_by(Supervision.created_at, Supervision.id)
    ).all()
    return (
        [link for link in rows if link.supervisee_id == user.id],
        [link for link in rows if link.supervisor_id == user.id],
    )


def get_link_for(user: User, link_id: uuid.UUID) -> Supervision | None:
    """An open link of the user's practice in which the user is supervisor or supervisee."""
    link = db.session.get(Supervision, link_id)
    if (
        link is None
        or link.practice_id != user.practice_id
        or link.ended_at is not None
        or user.id not in (link.supervisor_id, link.supervisee_id)
    ):
        return None
    return link


def _change(link: Supervision, condition, **values) -> bool:
    """Compare-and-set `values` on the link while `condition` holds; False if it did not."""
    result = db.session.execute(
        sa.update(Supervision).where(Supervision.id == link.id, condition).values(**values),
        execution_options={"synchronize_session": False},
    )
    db.session.expire(link)
    return bool(result.rowcount)


def accept(supervisee: User, link: Supervision) -> Supervision:
    """The supervised clinician agrees: the link takes effect now (idempotent when it
    already has). Refused when the request was withdrawn or declined meanwhile."""
    if link.supervisee_id != supervisee.id:
        raise PermissionError("Only the supervised clinician accepts.")
    if _change(link, PENDING, accepted_at=utcnow()):
        audit.record(db.session, "supervision.accept", object_type="supervision", object_id=link.id)
    elif link.ended_at is not None:
        raise Refused("This request was withdrawn or declined.")
    return link


def decline(supervisee: User, link: Supervision) -> Supervision:
    """The supervised clinician refuses a pending request; a link in effect is ended
    instead (end)."""
    if link.supervisee_id != supervisee.id:
        raise PermissionError("Only the supervised clinician declines.")
    if not _change(link, PENDING, **_ended(supervisee, "declined")):
        raise Refused(
            "This link is already in effect: end it instead."
            if link.ended_at is None
            else "This request was withdrawn or declined."
        )
    audit.record(db.session, "supervision.decline", object_type="supervision", object_id=link.id)
    return link


def end(actor: User, link: Supervision, reason: str | None = None) -> bool:
    """End an open link: a pending one is declined (by the supervisee) or withdrawn (by
    anyone else), an active one ended. The supervisor loses access at once. False when
    the link had already ended."""
    if_pending = reason or ("declined" if actor.id == link.supervisee_id else "withdrawn")
    if _change(link, PENDING, **_ended(actor, if_pending)):
        reason = if_pending
    elif _change(link, OPEN, **_ended(actor, reason or "ended")):
        reason = reason or "ended"
    else:
        return False
    action = "supervision.decline" if reason == "declined" else "supervision.end"
    audit.record(db.session, action, object_type="supervision", object_id=link.id)
    return True


def _ended(actor: User, reason: str) -> dict:
    return {"ended_at": utcnow(), "ended_by_id": actor.id, "end_reason": reason}


def end_for_roles(actor: User, user: User, dropped: set[str]) -> int:
    """After `user` lost roles: end the open links the lost role was part of (supervisor:
    those they supervise; clinician: those supervising them), so granting the role back
    never revives a link. Returns how many ended."""
    sides = []
    if "supervisor" in dropped:
        sides.append(Supervision.supervisor_id == user.id)
    if "clinician" in dropped:
        sides.append(Supervision.supervisee_id == user.id)
    if not sides:
        return 0
    links = db.session.scalars(sa.select(Supervision).where(sa.or_(*sides), OPEN)).all()
    return sum(end(actor, link, "role_removed") for link in links)
