"""The clinical record's pages: a progress note from the session to signed and addended,
the plan editor and its versions, plans due for review on the client page, the author's
own copy; bad input answers the form again, other people get the 404 page."""

from __future__ import annotations

from datetime import date, timedelta

from practice.actor import Actor
from practice.extensions import db
from practice.record import plans
from practice.record.models import ProgressNote, TreatmentPlan
from tests.helpers import assert_page, csrf_of, hidden, settle, sign_in, title
from tests.record.helpers import PLAN, session_for

SECRET = "Kestrel-canary-1207: dreams of the flooded cellar"


def _plan(team, review: date = date(2027, 6, 1)) -> TreatmentPlan:
    actor = Actor(user=team.author, via="session")
    plan, _content = plans.create_plan(actor, team.client, PLAN, review)
    plans.sign_plan(plan, team.client, plan.version)
    settle()
    return plan


def _start(client, team, appointment) -> str:
    started = client.post(
        f"/clients/{team.client.id}/progress-notes",
        data={"csrf_token": csrf_of(client), "appointment_id": str(appointment.id)},
    )
    assert started.status_code == 302, started.get_data(as_text=True)[-1500:]
    return started.headers["Location"]


def test_a_progress_note_from_the_session_to_signed(client, team):
    plan = _plan(team)
    appointment = session_for(team.client, team.author)
    sign_in(client, team.author)
    before = assert_page(client.get(f"/appointments/{appointment.id}"))
    assert f"/appointments/{appointment.id}/progress-note" in before
    offered = assert_page(client.get(f"/appointments/{appointment.id}/progress-note"))
    assert "Write the progress note" in offered
    edit_url = _start(client, team, appointment)
    form = assert_page(client.get(edit_url))
    assert SECRET not in title(form) and "Progress note" in title(form)
    goal_id = plans.goals_of(plans.open_content(plan, team.client)).popitem()[0]
    data = {
        "csrf_token": hidden(form, "csrf_token"),
        "version": hidden(form, "version"),
        "service_code": "90834",
        "diagnoses_other": "f41.1, F33.0",
        "presenting_concerns": SECRET,
        "ms.mood.pick": "anxious",
        "ms.mood.text": "tense",
        "risk.suicidal_ideation": "passive",
        "risk.safety_plan": "yes",
        "risk.risk_level": "low",
        "interventions": ["clarification", "interpretation"],
        f"goal.{goal_id}.rating": "some_progress",
        f"goal.{goal_id}.text": "named it once",
        "plan": "Weekly.",
    }
    saved = client.post(edit_url, data=data)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-2000:]
    note = db.session.scalar(db.select(ProgressNote))
    sign_page = assert_page(client.get(f"/progress-notes/{note.id}/sign"))
    signed = client.post(
        f"/progress-notes/{note.id}/sign",
        data={
            "csrf_token": hidden(sign_page, "csrf_token"),
            "version": hidden(sign_page, "version"),
        },
    )
    assert signed.status_code == 302
    shown = assert_page(client.get(f"/progress-notes/{note.id}"))
    assert SECRET in shown and "F41.1, F33.0" in shown and "some progress" in shown
    assert "Add an addendum" in shown
    added = client.post(
        f"/progress-notes/{note.id}/addenda", data={"csrf_token": csrf_of(client), "text": "Later."}
    )
    assert added.status_code == 302
    # The session's link now opens the note.
    opened = client.get(f"/appointments/{appointment.id}/progress-note")
    assert opened.status_code == 302 and str(note.id) in opened.headers["Location"]


def test_bad_input_answers_the_form_again_and_a_stale_save_keeps_the_text(client, team):
    appointment = session_for(team.client, team.author)
    sign_in(client, team.author)
    edit_url = _start(client, team, appointment)
    form = assert_page(client.get(edit_url))
    base = {"csrf_token": hidden(form, "csrf_token"), "version": hidden(form, "version")}
    bad = client.post(
        edit_url, data={**base, "diagnoses_other": "F4", "presenting_concerns": SECRET}
    )
    text = assert_page(bad, 422)
    assert "Diagnosis code 1: Not an ICD-10-CM code" in text and SECRET in text
    assert "\u203a" not in text.split('id="error-summary"')[1].split("</div>")[0]
    unknown = client.post(edit_url, data={**base, "service_code": "99999"})
    assert "Not one of the practice&#39;s service codes" in assert_page(unknown, 422)
    assert client.post(edit_url, data={**base, "plan": "first"}).status_code == 302
    stale = client.post(edit_url, data={**base, "plan": SECRET})  # the version read before
    stale_text = assert_page(stale, 409)
    assert "saved elsewhere" in stale_text and SECRET in stale_text
    assert hidden(stale_text, "version") == "2"
    not_a_session = client.post(
        f"/clients/{team.client.id}/progress-notes",
        data={"csrf_token": base["csrf_token"], "appointment_id": "nonsense"},
    )
    assert_page(not_a_session, 422)
    foreign = session_for(team.foreign_client, team.stranger)
    other = client.post(
        f"/clients/{team.client.id}/progress-notes",
        data={"csrf_token": base["csrf_token"], "appointment_id": str(foreign.id)},
    )
    assert_page(other, 422)


def test_the_plan_editor_versions_and_review_due(client, team):
    mine = _plan(team, review=date.today() + timedelta(days=3))
    sign_in(client, team.author)
    page = assert_page(client.get(f"/clients/{team.client.id}"))
    assert "Due for review" in page
    started = client.post(
        f"/clients/{team.client.id}/treatment-plans",
        data={"csrf_token": hidden(page, "csrf_token")},
    )
    assert started.status_code == 302
    edit_url = started.headers["Location"]
    form = assert_page(client.get(edit_url))
    assert "Notice the script as it happens" in form  # a copy of the plan in force
    data = {
        "csrf_token": hidden(form, "csrf_token"),
        "version": hidden(form, "version"),
        "problems": "Low mood\nSleep",
        "goal.0.id": hidden(form, "goal.0.id"),
        "goal.0.text": "Notice the script as it happens",
        "goal.0.obj.0.text": "Names it twice a month",
        "goal.0.obj.0.date": "2027-03-01",
        "goal.1.id": "",
        "goal.1.text": "Tolerate the summer break",
        "goal.1.obj.0.text": "",
        "session_frequency": "weekly",
        "review_date": "2027-12-01",
    }
    assert client.post(edit_url, data=data).status_code == 302
    bad = client.post(edit_url, data={**data, "version": "2", "review_date": "someday"})
    assert "review date" in assert_page(bad, 422)
    draft = db.session.scalar(db.select(TreatmentPlan).where(TreatmentPlan.number == 2))
    confirm = assert_page(client.get(f"/treatment-plans/{draft.id}/sign"))
    signed = client.post(
        f"/treatment-plans/{draft.id}/sign",
        data={"csrf_token": hidden(confirm, "csrf_token"), "version": hidden(confirm, "version")},
    )
    assert signed.status_code == 302
    versions = assert_page(client.get(f"/clients/{team.client.id}/treatment-plans"))
    assert "in force" in versions and "superseded" in versions
    shown = assert_page(client.get(f"/treatment-plans/{draft.id}"))
    assert "Tolerate the summer break" in shown and "Sleep" in shown
    page = assert_page(client.get(f"/clients/{team.client.id}"))
    assert "Due for review" not in page  # the new version is reviewed in December 2027
    assert mine.id != draft.id


def test_only_the_author_opens_their_own_copy(client, team):
    from practice.notes import service as notes

    notes.create_note(
        team.author, team.client, date(2026, 3, 2), {"narrative": {"summary": SECRET}}
    )
    settle()
    sign_in(client, team.author)
    page = assert_page(client.get(f"/clients/{team.client.id}"))
    assert f"/clients/{team.client.id}/own-notes" in page
    copy = client.get(f"/clients/{team.client.id}/own-notes")
    assert SECRET in assert_page(copy)
    download = client.get(f"/clients/{team.client.id}/own-notes?download=1")
    assert "attachment" in download.headers["Content-Disposition"]
    client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    for other in (team.supervisor, team.co_clinician, team.owner):
        sign_in(client, other)
        assert SECRET not in assert_page(client.get(f"/clients/{team.client.id}/own-notes"), 404)
        client.post("/sign-out", data={"csrf_token": csrf_of(client)})


def test_supervisors_read_and_others_get_the_404_page(client, team):
    _plan(team)
    appointment = session_for(team.client, team.author)
    sign_in(client, team.author)
    edit_url = _start(client, team, appointment)
    note_url = edit_url.removesuffix("/edit")
    client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    sign_in(client, team.supervisor)
    shown = assert_page(client.get(note_url))
    assert "Edit the draft" not in shown
    assert_page(client.get(edit_url), 403)
    page = assert_page(client.get(f"/clients/{team.client.id}"))
    assert "Write a progress note" not in page and "Treatment plan" in page
    client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    sign_in(client, team.colleague)
    assert_page(client.get(note_url), 404)
