"""Scripts: a client's recurring relational patterns, with status, versions and merging.

The words are sealed with the client's data key; edits are compare-and-set on `version`,
and a merged script points to its survivor so theme history follows it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

import sqlalchemy as sa

from practice import paging, versions
from practice.audit import service as audit
from practice.auth.models import User
from practice.clients.models import Client
from practice.database import new_id, utcnow
from practice.extensions import db
from practice.keys import client_keys
from practice.notes.access import get_clinical_client_for
from practice.notes.models import FIRST_VERSION, Script
from practice.notes.rules import Conflict, Invalid, compare_and_set, owned_or_404, sealed_view


def scripts_query(client: Client, *, status: str | None = None, include_merged: bool = False):
    """The client's scripts in order of creation."""
    query = sa.select(Script).where(Script.client_id == client.id)
    if status:
        query = query.where(Script.status == status)
    if not include_merged:
        query = query.where(Script.merged_into_id.is_(None))
    return query.order_by(Script.created_at, Script.id)


SCRIPT_COLUMNS = (
    "id",
    "client_id",
    "status",
    "version",
    "merged_into_id",
    "created_at",
    "updated_at",
)


def script_view(script: Script, cipher) -> dict:
    """A script with its decrypted words."""
    return sealed_view(script, cipher, "scripts", SCRIPT_COLUMNS)


def get_script(client: Client, script_id: uuid.UUID) -> Script:
    """One script of this client, or 404."""
    return owned_or_404(Script, "script", client, script_id)


def create_script(user: User, client: Client, payload: dict, status: str) -> Script:
    """A new recurring pattern, usually a hypothesis first."""
    script = Script(
        id=new_id(),
        practice_id=client.practice_id,
        client_id=client.id,
        status=status,
        created_by=user.id,
    )
    script.payload = client_keys.seal(
        client, "scripts", "payload", script.id, payload, FIRST_VERSION
    )
    db.session.add(script)
    db.session.flush()
    audit.record(db.session, "script.create", object_type="script", object_id=script.id)
    return script


def update_script(client: Client, script: Script, changes: dict, version: int) -> Script:
    """Change the words or status of a script that has not been merged away."""
    if script.merged_into_id is not None:
        raise Conflict("A merged script cannot be changed; edit the script it was merged into.")
    payload = _words(client, script)
    status = changes.pop("status", script.status)
    payload.update(changes)
    payload = {key: value for key, value in payload.items() if value is not None}
    blob = client_keys.seal(client, "scripts", "payload", script.id, payload, version + 1)
    compare_and_set(
        Script,
        script,
        version,
        {"payload": blob, "status": status},
        Script.merged_into_id.is_(None),
    )
    audit.record(db.session, "script.update", object_type="script", object_id=script.id)
    return script


def _words(client: Client, script: Script) -> dict:
    """The script's decrypted payload, checked against its current version."""
    return client_keys.unseal(
        client, "scripts", "payload", script.id, script.payload, script.version
    )


def survivor_of(script: Script) -> Script:
    """Follow merged_into_id to the script that absorbed this one."""
    seen = {script.id}
    while script.merged_into_id is not None:
        script = db.session.get(Script, script.merged_into_id)
        if script.id in seen:  # a cycle can only come from a hand-edited database
            break
        seen.add(script.id)
    return script


def merge_script(client: Client, script: Script, into_id: uuid.UUID) -> Script:
    """Fold `script` into another script of the same client; history follows the survivor."""
    if script.merged_into_id is not None:
        raise Conflict("This script was already merged.")
    target = db.session.get(Script, into_id)
    if target is None or target.client_id != client.id:
        raise Invalid({"into_script_id": ["No such script for this client."]})
    survivor = survivor_of(target)
    if survivor.id == script.id:
        raise Invalid({"into_script_id": ["A script cannot be merged into itself."]})
    # The merge makes a new version: the same words, sealed again for it.
    blob = client_keys.seal(
        client, "scripts", "payload", script.id, _words(client, script), script.version + 1
    )
    compare_and_set(
        Script,
        script,
        script.version,
        {"merged_into_id": survivor.id, "payload": blob},
        Script.merged_into_id.is_(None),
    )
    db.session.execute(
        sa.update(Script)
        .where(Script.merged_into_id == script.id)
        .values(merged_into_id=survivor.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    audit.record(db.session, "script.merge", object_type="script", object_id=script.id)
    return survivor


# --- a client's scripts, read and written (what the front ends call) ----------------
# Each checks access (practice/notes/access.py), audits, and seals or unseals.


def live_scripts(client: Client) -> list[dict]:
    """The client's live scripts, decrypted, for pickers and for naming them on a page of
    the clinical record (the caller loaded `client` through its access loader)."""
    cipher = client_keys.client_cipher(client)
    return [script_view(script, cipher) for script in db.session.scalars(scripts_query(client))]


def _shown(client: Client, script: Script) -> dict:
    return script_view(script, client_keys.client_cipher(client))


def list_scripts(
    user: User,
    client_id: uuid.UUID,
    *,
    page: int,
    page_size: int,
    status: str | None = None,
    include_merged: bool = False,
) -> dict:
    """One page of the client's scripts, decrypted; the list audited."""
    client = get_clinical_client_for(user, client_id)
    query = scripts_query(client, status=status, include_merged=include_merged)
    result = paging.paginate(query, page, page_size)
    cipher = client_keys.client_cipher(client)
    audit.record(db.session, "script.list", object_type="client", object_id=client.id)
    return {**result, "items": [script_view(script, cipher) for script in result["items"]]}


def read_script(user: User, client_id: uuid.UUID, script_id: uuid.UUID) -> dict:
    """One script, decrypted and audited."""
    client = get_clinical_client_for(user, client_id)
    script = get_script(client, script_id)
    audit.record(db.session, "script.read", object_type="script", object_id=script.id)
    return _shown(client, script)


def merge_candidates(
    user: User, client_id: uuid.UUID, script_id: uuid.UUID
) -> tuple[dict, list[dict]]:
    """A script the user may merge, and the client's other live scripts it may be merged
    into, decrypted; audited as a list of the client's scripts."""
    client = get_clinical_client_for(user, client_id, write=True)
    script = get_script(client, script_id)
    cipher = client_keys.client_cipher(client)
    others = [
        script_view(other, cipher)
        for other in db.session.scalars(scripts_query(client))
        if other.id != script.id
    ]
    audit.record(db.session, "script.list", object_type="client", object_id=client.id)
    return script_view(script, cipher), others


def start_script(user: User, client_id: uuid.UUID, payload: dict, status: str) -> dict:
    """Name a new script of the client (sealed, audited by create_script)."""
    client = get_clinical_client_for(user, client_id, write=True)
    return _shown(client, create_script(user, client, payload, status))


def _to_write(
    user: User,
    client_id: uuid.UUID,
    script_id: uuid.UUID,
    sent: Collection[str] | None,
    merged: str,
) -> tuple[Client, Script]:
    """The client and the script the user changes: Conflict (`merged`) once merged,
    then PreconditionRequired/Stale unless one of the versions `sent` is current."""
    client = get_clinical_client_for(user, client_id, write=True)
    script = get_script(client, script_id)
    if script.merged_into_id is not None:
        raise Conflict(merged)
    versions.check_version(script.version, sent)
    return client, script


def change_script(
    user: User,
    client_id: uuid.UUID,
    script_id: uuid.UUID,
    changes: dict,
    *,
    sent: Collection[str] | None,
) -> dict:
    """Change a script's words or status, based on one of the versions `sent`."""
    merged = "A merged script cannot be changed; edit its survivor."
    client, script = _to_write(user, client_id, script_id, sent, merged)
    update_script(client, script, changes, script.version)
    return _shown(client, script)


def merge_into(
    user: User,
    client_id: uuid.UUID,
    script_id: uuid.UUID,
    into_id: uuid.UUID,
    *,
    sent: Collection[str] | None,
) -> dict:
    """Merge the script (at one of the versions `sent`) into another of the client's."""
    merged = "This script was already merged."
    client, script = _to_write(user, client_id, script_id, sent, merged)
    merge_script(client, script, into_id)
    return _shown(client, script)
