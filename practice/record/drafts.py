"""The compare-and-set write of drafts (progress notes, plans), refusing as domain errors."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import InvalidRequestError

from practice.errors import Conflict, Stale
from practice.extensions import db
from practice.notes import rules


def compare_and_set(model, row, version: int, values: dict, *conditions) -> None:
    """notes.rules.compare_and_set (UPDATE … WHERE version = :version), its refusals
    raised as practice.errors.Stale / Conflict; Stale too when the row was deleted
    meanwhile (a draft plan discarded while another request saved or signed it)."""
    row_id = row.id  # read now: a row deleted meanwhile cannot be asked afterwards
    try:
        rules.compare_and_set(model, row, version, values, *conditions)
    except rules.Stale:
        raise Stale() from None
    except rules.Conflict as exc:
        raise Conflict(str(exc)) from None
    except InvalidRequestError:  # the row's refresh found nothing: it is gone
        if db.session.scalar(sa.select(model.id).where(model.id == row_id)) is not None:
            raise
        raise Stale() from None  # a draft plan discarded meanwhile: what was read is gone
