"""Who may reach a client's clinical record, asked in one place.

"Whose notes may this user read for this client" has one answer here (`authors_for`),
in two scopes: the notes list (`care_only=False`: the author keeps their notes after
leaving the client's care) and what belongs to the current care (`care_only=True`:
theme history, the session brief). The loaders raise the domain's refusals, audited by
policy.deny: what the user may not see is NotFound, what they may see but not change is
Forbidden. The roles and links themselves are asked of practice/auth/policy.py.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from practice.auth import policy
from practice.auth.models import User
from practice.clients.models import Client
from practice.extensions import db
from practice.notes.models import ProcessNote


def get_clinical_client_for(user: User, client_id: uuid.UUID, *, write: bool = False) -> Client:
    """A client whose figures and scripts the user may see: assigned clinician, or (read
    only) a supervisor of one. Everyone else: NotFound; a supervisor writing: Forbidden."""
    client = db.session.get(Client, client_id)
    if client is not None and policy.can_do_clinical_work(user, client):
        return client
    if client is not None and policy.supervises_care_of(user, client):
        if write:
            policy.deny(
                "client", client_id, forbidden=True, message="Supervisors have read-only access."
            )
        return client
    policy.deny("client", client_id)


def get_note_for(user: User, note_id: uuid.UUID, *, write: bool = False) -> ProcessNote:
    """A note the user may read (author, or the author's supervisor); NotFound otherwise.
    With `write`, only the author: a supervisor gets Forbidden."""
    return readable_note(user, note_id, db.session.get(ProcessNote, note_id), write=write)


def readable_note(user: User, note_id: uuid.UUID, note, *, write: bool = False):
    """get_note_for's decision on `note` (the entity, or a row with the note's columns;
    None when there is no such note): the note when the user may read it (with `write`:
    change it), refused and audited as get_note_for refuses otherwise."""
    if note is None or not policy.can_read_note(user, note):
        policy.deny("note", note_id)
    if write and not policy.can_write_note(user, note):
        policy.deny("note", note_id, forbidden=True, message="Only the author changes a note.")
    return note


def readable_author_ids(user: User) -> set[uuid.UUID]:
    """Whose notes the user may read at all: their own (as a clinician) and their current
    supervisees'."""
    own = {user.id} if user.has_role("clinician") else set()
    return own | policy.supervisee_ids(user)


def authors_for(user: User, client: Client | None, *, care_only: bool = False) -> set[uuid.UUID]:
    """Whose notes about `client` the user may read: the readable authors
    (readable_author_ids) when the user is in the client's current care (assigned to the
    client, or supervising a clinician who is); without `care_only`, also when any
    readable author has written about the client (a clinician taken off the care team
    keeps their notes). The empty set: nothing for this user here."""
    if client is None or not policy.in_practice(user, client):
        return set()
    authors = readable_author_ids(user)
    if not authors:
        return set()
    in_care = policy.can_do_clinical_work(user, client) or policy.supervises_care_of(
        user, client, authors - {user.id}
    )
    if in_care:
        return authors
    if care_only:
        return set()
    wrote = (
        sa.select(ProcessNote.id)
        .where(
            ProcessNote.client_id == client.id,
            ProcessNote.practice_id == client.practice_id,
            ProcessNote.author_id.in_(authors),
        )
        .limit(1)
    )
    return authors if db.session.scalar(wrote) is not None else set()


def note_authors_for(user: User, client: Client | None) -> set[uuid.UUID]:
    """Whose notes about `client` the user may list (authors_for)."""
    return authors_for(user, client)


def care_authors(user: User, client: Client | None) -> set[uuid.UUID]:
    """Whose notes the user reads as part of the client's current care (authors_for with
    care_only): theme history and the session brief."""
    return authors_for(user, client, care_only=True)


def client_with_authors(
    user: User, client_id: uuid.UUID, *, care_only: bool = False
) -> tuple[Client, set[uuid.UUID]]:
    """The client and whose notes about them the user may read (authors_for); NotFound,
    audited, when nobody's."""
    client = db.session.get(Client, client_id)
    authors = authors_for(user, client, care_only=care_only)
    if not authors:
        policy.deny("client", client_id)
    return client, authors


def theme_authors_for(user: User, client_id: uuid.UUID) -> tuple[Client, set[uuid.UUID]]:
    """The client and whose notes its theme history shows the user; NotFound otherwise.

    Theme history is a tool of the client's current care (it lists every script the care
    team keeps): only a clinician assigned to the client, or a supervisor of one, opens
    it, over every author whose notes they may read. Someone the client moved away from
    still lists and reads their own notes, but not the history."""
    return client_with_authors(user, client_id, care_only=True)
