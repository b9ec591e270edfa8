"""A user's change of their own account (password, email, second factor), audited by the
service that makes it, so the API and the web pages record the same entries."""

from __future__ import annotations

import functools

from practice.audit import service as audit
from practice.auth.errors import PolicyError
from practice.extensions import db


def audited(action: str):
    """Audit `step(user, ...)` as `action` on the user: success, or a failure when the
    rules refuse it (PolicyError, raised on; the boundary keeps the failure's entry)."""

    def decorate(step):
        @functools.wraps(step)
        def run(user, *args, **kwargs):
            try:
                result = step(user, *args, **kwargs)
            except PolicyError:
                audit.record(
                    db.session, action, object_type="user", object_id=user.id, outcome="failure"
                )
                raise
            audit.record(db.session, action, object_type="user", object_id=user.id)
            return result

        return run

    return decorate
