"""Who reaches the clinical record (progress notes, treatment plans).

Written by a clinician in the client's care (assigned: primary or care team); read by
them and by supervisors of a clinician in that care (links in effect); never by
schedulers, and not by owners as such (they get the signed record in the client's
export). Drafts are changed and signed by their author only, while still in the care;
discarded by their author, or by another clinician in the care once the author has left
it, is inactive, or has not touched the draft for 30 days (plans.may_discard).
What an actor may not see is NotFound (audited, as for every clinical object); a reader
who may not write gets Forbidden.
"""

from __future__ import annotations

import uuid

from practice.actor import Actor
from practice.auth import policy
from practice.clients.models import Client
from practice.extensions import db


def can_read_record(user, client: Client) -> bool:
    """The client's care team, and supervisors of it."""
    return policy.can_do_clinical_work(user, client) or policy.supervises_care_of(user, client)


def record_client_for(actor: Actor, client_id: uuid.UUID, *, write: bool = False) -> Client:
    """The client whose record the actor may read (and with `write`, add to)."""
    user = actor.user
    client = db.session.get(Client, client_id)
    if client is None or user is None or not can_read_record(user, client):
        policy.deny("client", client_id)
    if write and not policy.can_do_clinical_work(user, client):
        policy.deny(
            "client", client_id, forbidden=True, message="Supervisors have read-only access."
        )
    return client


def record_item_for(
    actor: Actor, model, kind: str, item_id: uuid.UUID, *, write: bool = False, author: bool = True
):
    """A progress note or plan (and its client) the actor may read. With `write`: a
    clinician in the client's care, and with `author` its author too (others: Forbidden)."""
    user = actor.user
    item = db.session.get(model, item_id)
    client = db.session.get(Client, item.client_id) if item is not None else None
    if (
        client is None
        or user is None
        or not policy.in_practice(user, item)
        or not can_read_record(user, client)
    ):
        policy.deny(kind, item_id)
    if write and not (
        policy.can_do_clinical_work(user, client) and (not author or item.author_id == user.id)
    ):
        message = (
            "Only the author changes a draft." if author else "Supervisors have read-only access."
        )
        policy.deny(kind, item_id, forbidden=True, message=message)
    return item, client
