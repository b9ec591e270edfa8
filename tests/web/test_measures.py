"""Measure pages: record a form as radio groups, bad forms answered beside their items,
the scores page with bands and change, the risk flag on the client's page and in the
session brief, score lanes on the theme history page; who may see what."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from practice.measures.models import MeasureScore
from tests.helpers import assert_page, audit_rows, count, csrf_of, settle, sign_in, title
from tests.themes.factories import make_attended, make_note

START = date(2026, 3, 2)


def _sessions(team, n):
    made = [make_attended(team.client, team.author, START + timedelta(weeks=i)) for i in range(n)]
    settle()
    return made


def _form(client, appointment, answers: dict, instrument="phq9") -> dict:
    data = {
        "csrf_token": csrf_of(client),
        "instrument": instrument,
        "appointment_id": str(appointment.id),
    }
    data.update({f"item-{k}": str(v) for k, v in answers.items()})
    return data


def _phq9(total: int, item9: int = 0) -> dict:
    answers, left = {}, total - item9
    for item in "12345678":
        answers[item] = min(3, left)
        left -= answers[item]
    answers["9"] = item9
    return answers


def test_the_form_is_radio_groups_with_labels(client, team):
    [appointment] = _sessions(team, 1)
    sign_in(client, team.author)
    chooser = assert_page(client.get(f"/clients/{team.client.id}/measures/new"))
    assert "PHQ-9" in chooser and "GAD-7" in chooser
    page = assert_page(client.get(f"/clients/{team.client.id}/measures/new?instrument=phq9"))
    assert page.count("<fieldset") == 9 and page.count('type="radio"') == 36
    assert "<legend>9. Thoughts that you would be better off dead" in page
    assert '<label class="check"><input type="radio" name="item-9" value="1"> Several days' in page
    assert str(appointment.id) in page and 'name="csrf_token"' in page
    assert title(page).startswith(f"Record a measure {team.client.first_name[0]}")


def test_recording_a_form_and_reading_the_scores(client, team):
    first, second = _sessions(team, 2)
    sign_in(client, team.author)
    base = f"/clients/{team.client.id}/measures"
    saved = client.post(f"{base}/new", data=_form(client, first, _phq9(17)))
    assert saved.status_code == 302, saved.get_data(as_text=True)[-1500:]
    assert saved.headers["Location"].startswith(base)
    saved = client.post(f"{base}/new", data=_form(client, second, _phq9(9)))
    assert saved.status_code == 302
    page = assert_page(client.get(base))
    assert "Moderately severe" in page and "Mild" in page
    assert "-8" in page and "reliable improvement" in page
    assert page.count("<td>yes</td>") >= 2  # a case at first; recovered now
    assert audit_rows(action="measure.create")


def test_a_partial_or_out_of_range_form_is_answered_beside_its_items(client, team):
    [appointment] = _sessions(team, 1)
    sign_in(client, team.author)
    url = f"/clients/{team.client.id}/measures/new"
    answers = _phq9(6)
    del answers["4"]
    page = assert_page(client.post(url, data=_form(client, appointment, answers)), 422)
    assert "A partial form: 1 of 9 items unanswered" in page and 'role="alert"' in page
    assert 'name="item-1" value="3" checked' in page  # what was chosen is kept
    answers["4"] = 7
    page = assert_page(client.post(url, data=_form(client, appointment, answers)), 422)
    assert "item 4" in page
    assert count(MeasureScore) == 0
    assert audit_rows(action="measure.create", outcome="failure")


def test_another_clients_appointment_and_a_second_form(client, team):
    [appointment] = _sessions(team, 1)
    other = make_attended(team.other_client, team.author, START + timedelta(days=1))
    settle()
    sign_in(client, team.author)
    url = f"/clients/{team.client.id}/measures/new"
    page = assert_page(client.post(url, data=_form(client, other, _phq9(3))), 422)
    assert "No such appointment for this client." in page
    assert client.post(url, data=_form(client, appointment, _phq9(3))).status_code == 302
    page = assert_page(client.post(url, data=_form(client, appointment, _phq9(3))), 409)
    assert "already has a form" in page


def test_a_form_without_the_csrf_token_is_refused(client, team):
    [appointment] = _sessions(team, 1)
    sign_in(client, team.author)
    data = _form(client, appointment, _phq9(3))
    del data["csrf_token"]
    response = client.post(f"/clients/{team.client.id}/measures/new", data=data)
    assert response.status_code in (400, 403)
    assert count(MeasureScore) == 0


def test_item_9_flag_on_the_clients_page_and_in_the_brief(client, team):
    [appointment] = _sessions(team, 1)
    coming = make_attended(team.client, team.author, START + timedelta(weeks=1), status="scheduled")
    make_note(team.client, team.author, START, {}, appointment=appointment)
    settle()
    sign_in(client, team.author)
    client.post(
        f"/clients/{team.client.id}/measures/new", data=_form(client, appointment, _phq9(5, 1))
    )
    page = assert_page(client.get(f"/clients/{team.client.id}"))
    assert "Risk item answered" in page and "PHQ-9 item 9" in page
    brief = assert_page(client.get(f"/appointments/{coming.id}"))
    assert "Risk item answered" in brief


def test_no_flag_without_a_risk_answer(client, team):
    [appointment] = _sessions(team, 1)
    sign_in(client, team.author)
    client.post(
        f"/clients/{team.client.id}/measures/new", data=_form(client, appointment, _phq9(5))
    )
    assert "Risk item answered" not in assert_page(client.get(f"/clients/{team.client.id}"))


def test_the_theme_history_page_shows_score_lanes(client, team):
    days = _sessions(team, 2)
    for i, appointment in enumerate(days):
        make_note(team.client, team.author, START + timedelta(weeks=i), {}, appointment=appointment)
    settle()
    sign_in(client, team.author)
    for appointment, total in zip(days, (15, 8), strict=True):
        client.post(
            f"/clients/{team.client.id}/measures/new", data=_form(client, appointment, _phq9(total))
        )
    page = assert_page(client.get(f"/clients/{team.client.id}/themes"))
    assert '<tr class="lane"><th scope="row" class="script-col">PHQ-9' in page
    assert "<strong>15</strong>" in page and "reliable improvement" in page


@pytest.mark.parametrize(
    ("who", "scores", "form"),
    [
        ("supervisor", 200, 403),
        ("colleague", 404, 404),
        ("owner", 404, 404),
        ("scheduler", 404, 404),
        ("stranger", 404, 404),
    ],
)
def test_who_sees_the_pages(client, team, who, scores, form):
    sign_in(client, getattr(team, who))
    assert_page(client.get(f"/clients/{team.client.id}/measures"), scores)
    assert_page(client.get(f"/clients/{team.client.id}/measures/new"), form)
