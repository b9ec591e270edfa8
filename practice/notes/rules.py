"""What the notes domain's services share: their errors (the domain's, practice/errors.py)
and the compare-and-set write."""

from __future__ import annotations

import sqlalchemy as sa

from practice import errors
from practice.auth import policy
from practice.database import utcnow
from practice.errors import Conflict, Stale
from practice.extensions import db

__all__ = ["Conflict", "Invalid", "Stale", "compare_and_set", "owned_or_404", "sealed_view"]


class Invalid(errors.Invalid):
    """Input that is well-formed but refers to the wrong things; `errors` is field-level."""

    default_message = "The request refers to something it cannot use."


def compare_and_set(model, obj, version: int, values: dict, *conditions) -> None:
    """UPDATE … WHERE id = :id AND version = :version; a lost race raises Stale/Conflict."""
    result = db.session.execute(
        sa.update(model)
        .where(model.id == obj.id, model.version == version, *conditions)
        .values(**values, version=model.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(obj)
    if result.rowcount != 1:
        if obj.version != version:
            raise Stale()
        raise Conflict("The object can no longer be changed.")


def owned_or_404(model, kind: str, client, object_id):
    """The `model` row `object_id` when it belongs to `client`; 404 (audited) otherwise."""
    obj = db.session.get(model, object_id)
    if obj is None or obj.client_id != client.id:
        policy.deny(kind, object_id)
    return obj


def sealed_view(obj, cipher, table: str, columns: tuple[str, ...]) -> dict:
    """The plain `columns` of a figure or script and its decrypted payload (checked against
    the row's version, when it has one), in one dict."""
    view = {column: getattr(obj, column) for column in columns}
    view.update(cipher.unseal(table, "payload", obj.id, obj.payload, getattr(obj, "version", None)))
    return view
