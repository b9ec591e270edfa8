"""The author's own copy: every process note a clinician wrote about a client, with
their addenda, as one document — for a practice that closes or a clinician who leaves.

The notes refer to figures and scripts by id; the document names each one referred to
(`figure_names`, `script_names`), so the JSON reads as well as the page without the
practice's system: the page and the API both take the document from own_copy().

Only the author gets it, while they hold the clinician role in the practice, whether or
not they are still in the client's care: not the owner, not a supervisor, not another
clinician (they are told there is nothing: NotFound). Audited, by client, no text.
"""

from __future__ import annotations

import uuid

from practice.actor import Actor
from practice.audit import service as audit
from practice.auth import policy
from practice.clients.models import Client
from practice.database import utcnow
from practice.extensions import db
from practice.keys import client_keys
from practice.notes import service as notes
from practice.record.content import plain

FORMAT = "practice.own-process-notes/1"


def own_copy(actor: Actor, client_id: uuid.UUID) -> dict:
    """The document: the author, the client's name, the author's notes oldest first, and
    the names of the figures and scripts those notes refer to ({id: name})."""
    user = actor.user
    client = db.session.get(Client, client_id)
    if client is None or user is None or not policy.in_practice(user, client):
        policy.deny("client", client_id)
    own = (
        db.session.scalars(notes.notes_query({user.id}, client)).all()
        if user.has_role("clinician")
        else []
    )
    if not own:
        policy.deny("client", client_id)  # nothing of theirs here, or not a clinician
    cipher = client_keys.client_cipher(client)
    addenda = notes.addenda_by_note(own)
    views = [notes.note_view(note, cipher, addenda[note.id]) for note in own]
    names: dict = {"figure_names": {}, "script_names": {}}
    for view in views:
        for kind, named in notes.names_in(client, cipher, view["content"]).items():
            names[kind].update(named)
    document = {
        "format": FORMAT,
        "exported_at": utcnow().isoformat(),
        "author": {"id": str(user.id), "name": user.name},
        "client": {
            "id": str(client.id),
            "first_name": client.first_name,
            "last_name": client.last_name,
            "date_of_birth": client.date_of_birth.isoformat() if client.date_of_birth else None,
        },
        "notes": views,
        **names,
    }
    document = plain(document)
    audit.record(db.session, "process_note.own_copy", object_type="client", object_id=client.id)
    return document
