"""Who acts and from where: built at the request boundary (practice/login.py) or by a
command (practice/cli.py), bound to the unit of work, and written into the audit log
without the domain reading the request."""

from __future__ import annotations

import click
import pytest
import sqlalchemy as sa

from practice import actor as actors
from practice.actor import Actor
from practice.audit.models import AuditEntry
from practice.audit.service import PENDING
from practice.audit.service import record as audit_record
from practice.extensions import db
from tests.factories import bearer, make_practice, make_user

ADDRESS = "203.0.113.7"


def _entries(action: str) -> list[AuditEntry]:
    query = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return list(db.session.scalars(query))


def test_a_refusal_names_the_token_user_and_their_address(client):
    practice = make_practice()
    scheduler = make_user(practice, ["scheduler"])
    headers = bearer(scheduler)
    db.session.commit()
    response = client.get("/api/v1/users", headers=headers, environ_base={"REMOTE_ADDR": ADDRESS})
    assert response.status_code == 403
    (entry,) = _entries("access.denied")
    assert (entry.actor_id, entry.practice_id, entry.address) == (
        scheduler.id,
        practice.id,
        ADDRESS,
    )
    assert actors.bound(db.session) is None  # the request's actor ends with it


def test_before_sign_in_the_actor_is_nobody_from_the_callers_address(client):
    response = client.post(
        "/api/v1/auth/login",
        json={"email": "nobody@example.test", "password": "wrong horse battery"},
        environ_base={"REMOTE_ADDR": ADDRESS},
    )
    assert response.status_code == 401
    (entry,) = _entries("auth.login_failed")
    assert entry.actor_id is None and entry.address == ADDRESS


def test_an_explicit_actor_wins_and_a_user_keeps_the_bound_address(app):
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    actors.bind(db.session, Actor(user=None, address=ADDRESS, via="anonymous"))
    try:
        audit_record(db.session, "test.as_user", actor=owner)
        audit_record(db.session, "test.as_actor", actor=Actor.cli(owner))
        as_user, as_actor = db.session.info[PENDING][-2:]
    finally:
        actors.bind(db.session, None)
    assert (as_user.actor_id, as_user.address) == (owner.id, ADDRESS)
    assert (as_actor.actor_id, as_actor.practice_id, as_actor.address) == (
        owner.id,
        practice.id,
        None,
    )


def test_a_command_acts_as_the_operator(app):
    with click.Context(click.Command("probe")), app.app_context():
        bound = actors.bound(db.session)
        assert bound is not None and (bound.via, bound.user, bound.address) == ("cli", None, None)
    with app.app_context():  # outside a command nothing is bound
        assert actors.bound(db.session) is None


def test_an_actor_names_how_it_came():
    with pytest.raises(ValueError):
        Actor(user=None, via="carrier pigeon")
