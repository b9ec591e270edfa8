"""Marking a measure form as entered in error from the scores page: a reason from the
list, the form listed apart and no longer counted; a bad reason or a second void is an
HTML error page; a supervisor reads but may not void."""

from __future__ import annotations

from datetime import timedelta

from practice.measures.models import MeasureScore
from tests.helpers import assert_page, audit_rows, csrf_of, settle, sign_in
from tests.themes.factories import make_attended, make_note
from tests.web.test_measures import START, _form, _phq9, _sessions


def _ids(db):
    return [m.id for m in db.session.query(MeasureScore).order_by(MeasureScore.session_date)]


def test_mark_a_form_void_from_the_scores_page(client, db, team):
    first, second = _sessions(team, 2)
    sign_in(client, team.author)
    base = f"/clients/{team.client.id}/measures"
    client.post(f"{base}/new", data=_form(client, first, _phq9(20, item9=1)))
    client.post(f"{base}/new", data=_form(client, second, _phq9(12, item9=2)))
    page = assert_page(client.get(base))
    assert "Mark as entered in error" in page and 'for="r-' in page
    assert "<td>-8</td>" in page
    wrong, _right = _ids(db)
    done = client.post(
        f"{base}/{wrong}/void", data={"csrf_token": csrf_of(client), "reason": "wrong_client"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"#m-{wrong}")
    settle()
    page = assert_page(client.get(base))
    assert "Entered in error" in page and "Recorded for the wrong client" in page
    assert "<td>-8</td>" not in page  # change is counted from the 12 now, not the 20
    assert audit_rows(action="measure.void", object_id=wrong)
    bad = client.post(f"{base}/{_right}/void", data={"csrf_token": csrf_of(client), "reason": ""})
    assert_page(bad, 422)
    again = client.post(
        f"{base}/{wrong}/void", data={"csrf_token": csrf_of(client), "reason": "duplicate"}
    )
    assert_page(again, 409)
    no_token = client.post(f"{base}/{_right}/void", data={"reason": "duplicate"})
    assert no_token.status_code in (400, 403)
    # The client page's flag follows the latest form still counted (item 9 answered 2).
    assert "item 9" in assert_page(client.get(f"/clients/{team.client.id}"))
    client.post(
        f"{base}/{_right}/void", data={"csrf_token": csrf_of(client), "reason": "duplicate"}
    )
    settle()
    assert "item 9" not in assert_page(client.get(f"/clients/{team.client.id}"))


def test_a_supervisor_sees_no_void_control_and_may_not_void(client, db, team):
    [day] = _sessions(team, 1)
    sign_in(client, team.author)
    client.post(f"/clients/{team.client.id}/measures/new", data=_form(client, day, _phq9(9)))
    [made] = _ids(db)
    client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    sign_in(client, team.supervisor)
    base = f"/clients/{team.client.id}/measures"
    page = assert_page(client.get(base))
    assert "Mark as entered in error" not in page
    refused = client.post(
        f"{base}/{made}/void", data={"csrf_token": csrf_of(client), "reason": "duplicate"}
    )
    assert_page(refused, 403)


def test_the_session_brief_drops_the_flag_of_a_void_form(client, db, team):
    [appointment] = _sessions(team, 1)
    coming = make_attended(team.client, team.author, START + timedelta(weeks=1), status="scheduled")
    make_note(team.client, team.author, START, {}, appointment=appointment)
    settle()
    sign_in(client, team.author)
    base = f"/clients/{team.client.id}/measures"
    client.post(f"{base}/new", data=_form(client, appointment, _phq9(5, 1)))
    assert "Risk item answered" in assert_page(client.get(f"/appointments/{coming.id}"))
    [made] = _ids(db)
    client.post(
        f"{base}/{made}/void", data={"csrf_token": csrf_of(client), "reason": "wrong_client"}
    )
    settle()
    brief = assert_page(client.get(f"/appointments/{coming.id}"))
    assert "Risk item answered" not in brief and "PHQ-9 item 9" not in brief
