"""The access policy: who may do what on which object, always within the caller's practice.

Every domain's loader asks these questions instead of checking roles itself. What a
caller may not see is refused as NotFound by the loaders (indistinguishable from an id
that does not exist); a role that may see a resource but not change it, as Forbidden
(practice/errors.py; the front ends answer 404 and 403).
"""

from __future__ import annotations

import uuid
from typing import NoReturn

import sqlalchemy as sa

from practice.audit import service as audit
from practice.auth.models import Supervision, User
from practice.errors import Forbidden, NotFound
from practice.extensions import db


def in_practice(user: User, obj) -> bool:
    """True when `obj` (anything with practice_id) belongs to the user's practice."""
    return obj is not None and getattr(obj, "practice_id", None) == user.practice_id


def sees_all_clients(user: User) -> bool:
    """Owners and schedulers see every client and appointment of their practice."""
    return user.has_role("owner", "scheduler")


def can_see_client(user: User, client) -> bool:
    """Demographics and appointments: owner, scheduler, or a clinician assigned to the client."""
    if not in_practice(user, client):
        return False
    return sees_all_clients(user) or (user.has_role("clinician") and client.is_assigned(user.id))


def can_export_client(user: User, client) -> bool:
    """A client's whole record (export): owners and the assigned clinicians; not schedulers,
    who see demographics and appointments only."""
    return can_do_clinical_work(user, client) or (
        in_practice(user, client) and user.has_role("owner")
    )


def can_do_clinical_work(user: User, client) -> bool:
    """Figures, scripts and notes of a client: a clinician assigned to the client."""
    return in_practice(user, client) and user.has_role("clinician") and client.is_assigned(user.id)


# A supervision link gives reach only once the supervisee accepted it, and until it ends.
LINK_IN_EFFECT = sa.and_(Supervision.accepted_at.is_not(None), Supervision.ended_at.is_(None))


def _supervising(supervisor: User, *conditions) -> sa.Select:
    """The supervisee ids of `supervisor`'s links in effect that meet `conditions`."""
    return sa.select(Supervision.supervisee_id).where(
        Supervision.practice_id == supervisor.practice_id,
        Supervision.supervisor_id == supervisor.id,
        LINK_IN_EFFECT,
        *conditions,
    )


def supervises(supervisor: User, clinician_id: uuid.UUID) -> bool:
    """True while a supervision link from `supervisor` to the clinician is in effect."""
    if not supervisor.has_role("supervisor"):
        return False
    query = _supervising(supervisor, Supervision.supervisee_id == clinician_id)
    return db.session.scalar(query) is not None


def supervisee_ids(supervisor: User) -> set[uuid.UUID]:
    """Clinicians this user currently supervises: links they accepted and nobody ended."""
    if not supervisor.has_role("supervisor"):
        return set()
    return set(db.session.scalars(_supervising(supervisor)))


def supervises_care_of(user: User, client, supervisees: set | None = None) -> bool:
    """Read-only clinical access: the user supervises a clinician assigned to the client.
    `supervisees`: the user's supervisee ids when the caller has them already."""
    if not in_practice(user, client) or not user.has_role("supervisor"):
        return False
    assigned = {client.primary_clinician_id} | client.care_team_ids
    return bool(assigned & (supervisee_ids(user) if supervisees is None else supervisees))


def is_note_author(user: User, note) -> bool:
    """The note's author, while they still hold the clinician role: someone who moved to
    the front desk (scheduler or owner only) no longer reads clinical notes (SECURITY 9)."""
    return note.author_id == user.id and user.has_role("clinician")


def can_read_note(user: User, note) -> bool:
    """Psychotherapy notes: the author, or the author's supervisor while the link exists."""
    if not in_practice(user, note):
        return False
    return is_note_author(user, note) or supervises(user, note.author_id)


def can_write_note(user: User, note) -> bool:
    """Only the author writes, signs and adds addenda."""
    return in_practice(user, note) and is_note_author(user, note)


def deny(
    object_type: str, object_id=None, *, forbidden: bool = False, message: str | None = None
) -> NoReturn:
    """Record an authorization failure (audited as denied) and refuse: NotFound by
    default, since what the actor may not see reads as absent; Forbidden with
    `forbidden=True`, for what they may see but not change."""
    audit.record(
        db.session, "access.denied", object_type=object_type, object_id=object_id, outcome="denied"
    )
    if forbidden:
        raise Forbidden(message)
    raise NotFound(object_type, message)


def can_see_appointment(user: User, appointment) -> bool:
    """Owners and schedulers: every appointment of the practice; a clinician: their own."""
    if not in_practice(user, appointment):
        return False
    return sees_all_clients(user) or (
        user.has_role("clinician") and appointment.clinician_id == user.id
    )


def can_book(user: User, client, clinician_id: uuid.UUID) -> bool:
    """Owners and schedulers book anyone; a clinician books only themself, for their clients."""
    if not in_practice(user, client):
        return False
    if sees_all_clients(user):
        return True
    return clinician_id == user.id and can_do_clinical_work(user, client)
