"""Discarding a draft treatment plan from its page: offered to a colleague in the care
once the author has left it, confirmed on a page that says what happens, then a new
version can be started; refused with an HTML page to a colleague while the author is
still in the care, and at a stale version."""

from __future__ import annotations

import sqlalchemy as sa

from practice.actor import Actor
from practice.extensions import db
from practice.record import plans
from practice.record.models import TreatmentPlan
from tests.helpers import assert_page, hidden, settle, sign_in
from tests.record.helpers import PLAN


def _draft(team, author) -> TreatmentPlan:
    plan, _content = plans.create_plan(Actor(user=author, via="session"), team.client, PLAN, None)
    settle()
    return plan


def test_a_colleague_discards_a_left_authors_draft_and_starts_anew(client, team):
    draft = _draft(team, team.co_clinician)
    draft_id = draft.id
    team.client.care_team.clear()
    settle()
    sign_in(client, team.author)
    page = assert_page(client.get(f"/treatment-plans/{draft_id}"))
    assert "Discard this draft" in page and "Edit the draft" not in page
    confirm = assert_page(client.get(f"/treatment-plans/{draft_id}/discard"))
    assert "cannot be undone" in confirm and "another clinician wrote" in confirm
    assert "Notice the script" not in confirm  # nothing clinical on the confirmation
    form = {"csrf_token": hidden(confirm, "csrf_token"), "version": hidden(confirm, "version")}
    stale = client.post(f"/treatment-plans/{draft_id}/discard", data={**form, "version": "7"})
    assert_page(stale, 412)
    gone = client.post(f"/treatment-plans/{draft_id}/discard", data=form)
    assert gone.status_code == 302
    assert gone.headers["Location"].endswith(f"/clients/{team.client.id}/treatment-plans")
    db.session.expire_all()
    assert db.session.get(TreatmentPlan, draft_id) is None
    assert_page(client.get(f"/treatment-plans/{draft_id}/discard"), 404)  # twice: gone
    started = client.post(
        f"/clients/{team.client.id}/treatment-plans", data={"csrf_token": form["csrf_token"]}
    )
    assert started.status_code == 302, started.get_data(as_text=True)[-1500:]


def test_a_colleague_may_not_discard_while_the_author_is_in_the_care(client, team):
    draft = _draft(team, team.author)
    sign_in(client, team.co_clinician)
    page = assert_page(client.get(f"/treatment-plans/{draft.id}"))
    assert "Discard" not in page
    refused = assert_page(client.get(f"/treatment-plans/{draft.id}/discard"), 403)
    assert "still in this client" in refused
    db.session.expire_all()
    assert db.session.get(TreatmentPlan, draft.id) is not None


def test_a_save_that_loses_the_race_to_a_discard_gets_the_404_page(client, team, monkeypatch):
    """The author saves in one tab while the draft is discarded in another: between the
    editor's check and the write, the draft goes; the answer is the 404 page, not a 500."""
    from practice.web import treatment_plans as view

    draft = _draft(team, team.author)
    draft_id = draft.id
    sign_in(client, team.author)
    editor = assert_page(client.get(f"/treatment-plans/{draft_id}/edit"))
    real_replace = plans.replace_plan

    def discarded_first(plan, *args, **kwargs):  # as another request's discard would
        db.session.execute(sa.delete(TreatmentPlan).where(TreatmentPlan.id == draft_id))
        return real_replace(plan, *args, **kwargs)

    monkeypatch.setattr(view.plans, "replace_plan", discarded_first)
    form = {"csrf_token": hidden(editor, "csrf_token"), "version": "1", "goal.0.text": "Later"}
    assert_page(client.post(f"/treatment-plans/{draft_id}/edit", data=form), 404)
