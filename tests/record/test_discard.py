"""Discarding a draft treatment plan over the API: its author may; another clinician in
the client's care may once the author has left the care or been deactivated, or the
draft has lain untouched for 30 days; nobody else, never a signed plan, and only at the
version read. The client can then start a new draft."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from practice.database import utcnow
from practice.extensions import db
from practice.record.models import TreatmentPlan
from tests.helpers import CANARY, assert_error, audit_rows, audit_text, auth, settle
from tests.record.helpers import PLAN, signed_plan

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def _draft(http, team, author) -> dict:
    """A draft plan of the team's client by `author`, holding the canary."""
    created = http.post(
        f"/api/v1/clients/{team.client.id}/treatment-plans",
        json={"content": {**PLAN, "problems": [CANARY]}},
        headers=auth(author),
    )
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def _discard(http, plan_id, user, tag: str | None = '"1"'):
    headers = auth(user) if tag is None else {**auth(user), "If-Match": tag}
    return http.post(f"/api/v1/treatment-plans/{plan_id}/discard", headers=headers)


def _leaves_care(team) -> None:
    """The co-clinician leaves the client's care team."""
    team.client.care_team.clear()
    settle()


def _exists(plan_id) -> bool:
    db.session.expire_all()
    return db.session.get(TreatmentPlan, uuid.UUID(str(plan_id))) is not None


def test_a_colleague_discards_the_draft_of_an_author_who_left_the_care(client, db, team):
    draft = _draft(client, team, team.co_clinician)
    _leaves_care(team)
    # The author's own draft is out of their reach now: the plan was stuck until this.
    assert_error(_discard(client, draft["id"], team.co_clinician), 404)
    answer = _discard(client, draft["id"], team.author)
    assert answer.status_code == 204, answer.get_data(as_text=True)
    assert not _exists(draft["id"])
    entries = audit_rows("treatment_plan.discard", object_id=draft["id"])
    assert [(e.outcome, e.actor_id) for e in entries] == [("success", team.author.id)]
    assert CANARY not in audit_text()
    started = client.post(
        f"/api/v1/clients/{team.client.id}/treatment-plans", json={}, headers=auth(team.author)
    )
    assert started.status_code == 201, started.get_json()
    assert started.get_json()["author_id"] == str(team.author.id)
    # Discarding twice: the draft is gone, so the second answer is the 404 of any id.
    assert_error(_discard(client, draft["id"], team.author), 404)


def test_a_colleague_discards_the_draft_of_a_deactivated_author(client, db, team):
    draft = _draft(client, team, team.co_clinician)
    team.co_clinician.active = False
    settle()
    assert _discard(client, draft["id"], team.author).status_code == 204
    assert not _exists(draft["id"])


def test_the_author_still_in_the_care_keeps_their_draft(client, db, team):
    draft = _draft(client, team, team.author)
    body = assert_error(_discard(client, draft["id"], team.co_clinician), 403)
    assert "still in this client's care" in body["message"]
    assert CANARY not in str(body)
    assert _exists(draft["id"])
    assert audit_rows("treatment_plan.discard") == []
    # The author themselves may discard it at any time.
    assert _discard(client, draft["id"], team.author).status_code == 204


def test_a_draft_untouched_for_30_days_may_be_discarded_by_a_colleague(client, db, team):
    draft = _draft(client, team, team.author)
    row = db.session.get(TreatmentPlan, uuid.UUID(draft["id"]))
    db.session.execute(
        sa.update(TreatmentPlan)
        .where(TreatmentPlan.id == row.id)
        .values(updated_at=utcnow() - timedelta(days=29))
    )
    settle()
    assert_error(_discard(client, draft["id"], team.co_clinician), 403)
    db.session.execute(
        sa.update(TreatmentPlan)
        .where(TreatmentPlan.id == row.id)
        .values(updated_at=utcnow() - timedelta(days=30, minutes=1))
    )
    settle()
    assert _discard(client, draft["id"], team.co_clinician).status_code == 204
    assert not _exists(draft["id"])


def test_nobody_outside_the_care_discards_a_draft(client, db, team):
    draft = _draft(client, team, team.co_clinician)
    _leaves_care(team)
    for outsider in (team.owner, team.scheduler, team.colleague, team.stranger):
        assert_error(_discard(client, draft["id"], outsider), 404)
    body = assert_error(_discard(client, draft["id"], team.supervisor), 403)
    assert "read-only" in body["message"]
    assert_error(client.post(f"/api/v1/treatment-plans/{draft['id']}/discard"), 401)
    assert_error(_discard(client, uuid.uuid4(), team.author), 404)
    assert _exists(draft["id"])
    assert audit_rows("treatment_plan.discard") == []


def test_a_discard_names_the_version_read(client, db, team):
    draft = _draft(client, team, team.co_clinician)
    _leaves_care(team)
    assert_error(_discard(client, draft["id"], team.author, tag=None), 428)
    assert_error(_discard(client, draft["id"], team.author, tag="*"), 428)
    assert_error(_discard(client, draft["id"], team.author, tag='"2"'), 412)
    assert _exists(draft["id"])
    assert _discard(client, draft["id"], team.author).status_code == 204


def test_a_draft_changed_since_it_was_read_is_not_discarded(client, db, team):
    draft = _draft(client, team, team.author)
    saved = client.put(
        f"/api/v1/treatment-plans/{draft['id']}",
        json={"content": PLAN},
        headers={**auth(team.author), "If-Match": '"1"'},
    )
    assert saved.status_code == 200, saved.get_json()
    assert_error(_discard(client, draft["id"], team.author, tag='"1"'), 412)
    assert _exists(draft["id"])
    assert _discard(client, draft["id"], team.author, tag='"2"').status_code == 204


def test_a_signed_plan_is_never_discarded(client, db, team):
    plan = signed_plan(client, team)
    body = assert_error(_discard(client, plan["id"], team.author, tag='"2"'), 409)
    assert "kept for good" in body["message"]
    assert _exists(plan["id"])
