"""A measure form entered in error: voided with a reason category, kept sealed, and left
out by every reader (report, flags, theme history JSON/CSV/SVG, the session brief, the
export), although later forms carry its score in their sealed series chunks."""

from __future__ import annotations

import codecs
import uuid

import pytest
import sqlalchemy as sa

from practice.measures.models import MeasureScore
from tests.api.test_measures import START, phq9, record, sessions, url
from tests.helpers import assert_error, audit_rows, audit_text, auth, settle
from tests.themes.factories import make_note

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def void(http, team, measure_id, reason="wrong_answers", user=None, client=None):
    return http.post(
        f"{url(client or team.client)}/{measure_id}/void",
        json={"reason": reason},
        headers=auth(user or team.author),
    )


def report(http, team):
    return http.get(url(team.client), headers=auth(team.author)).get_json()


def phq_scores(body) -> list:
    lanes = {lane["instrument"]: lane["scores"] for lane in body["instruments"]}
    return lanes.get("phq9", [])


def test_voiding_the_first_form_counts_change_from_the_next(client, db, team):
    days = sessions(team, 3)
    made = [
        record(client, team, day, phq9(total)).get_json()
        for day, total in zip(days, (20, 14, 8), strict=True)
    ]
    before = phq_scores(report(client, team))
    assert [s["change_from_first"] for s in before] == [0, -6, -12]
    response = void(client, team, made[0]["id"], "wrong_client")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["voided"] is True and body["void_reason"] == "wrong_client"
    assert body["voided_by"] == str(team.author.id) and body["voided_at"]
    settle()
    after = report(client, team)
    scores = phq_scores(after)
    # The second form's sealed chunk still lists the first score; it is not counted.
    assert [s["score"] for s in scores] == [14, 8]
    assert [s["change_from_first"] for s in scores] == [0, -6]
    assert [s["reliable_change"] for s in scores] == [None, "improvement"]
    assert [v["measure_id"] for v in after["voided"]] == [made[0]["id"]]
    assert after["voided"][0]["void_reason"] == "wrong_client"
    # The form stays, sealed, and still opens for whoever reads the record.
    kept = client.get(f"{url(team.client)}/{made[0]['id']}", headers=auth(team.author))
    assert kept.status_code == 200 and kept.get_json()["score"] == 20
    assert kept.get_json()["voided"] is True
    assert audit_rows(action="measure.void", object_id=made[0]["id"])
    assert "wrong_client" not in audit_text()


def test_voiding_the_form_holding_item_9_removes_the_flag(client, db, team):
    first, second = sessions(team, 2)
    record(client, team, first, phq9(6))
    risky = record(client, team, second, phq9(12, item9=2)).get_json()
    make_note(team.client, team.author, START, {}, appointment=first)
    make_note(team.client, team.author, second.starts_at.date(), {}, appointment=second)
    settle()
    assert report(client, team)["risk_flags"]
    themes = f"/api/v1/clients/{team.client.id}/themes"
    assert client.get(themes, headers=auth(team.author)).get_json()["measures"]
    assert void(client, team, risky["id"]).status_code == 200
    settle()
    body = report(client, team)
    assert body["risk_flags"] == []
    assert [s["score"] for s in phq_scores(body)] == [6]
    history = client.get(themes, headers=auth(team.author)).get_json()
    [lane] = history["measures"]
    assert [s["score"] for s in lane["scores"]] == [6]
    assert [s["scores"] for s in history["per_session"]] == [{"phq9": 6}, {}]
    csv_text = codecs.decode(
        client.get(f"{themes}.csv", headers=auth(team.author)).data, "utf-8-sig"
    )
    assert ",12" not in csv_text
    svg = client.get(f"{themes}.svg", headers=auth(team.author)).data.decode()
    assert "PHQ-9 12" not in svg and "PHQ-9 6" in svg
    # The client page's flag reads the same report: nothing to show.
    page = client.get(f"/clients/{team.client.id}", headers=auth(team.author))
    assert b"item 9" not in page.data


def test_the_session_takes_a_corrected_form_once_the_wrong_one_is_void(client, db, team):
    [day] = sessions(team, 1)
    wrong = record(client, team, day, phq9(3)).get_json()
    assert record(client, team, day, phq9(13)).status_code == 409
    assert void(client, team, wrong["id"], "wrong_answers").status_code == 200
    settle()
    assert record(client, team, day, phq9(13)).status_code == 201
    assert [s["score"] for s in phq_scores(report(client, team))] == [13]
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(MeasureScore))
    assert rows == 2  # nothing deleted


def test_void_twice_is_409_and_bad_reasons_are_422(client, db, team):
    [day] = sessions(team, 1)
    made = record(client, team, day, phq9(9)).get_json()
    for reason in ("", "mistake", "Wrong client", None, 3):
        response = void(client, team, made["id"], reason)
        assert_error(response, 422)
    assert void(client, team, made["id"]).status_code == 200
    settle()
    assert_error(void(client, team, made["id"], "duplicate"), 409)
    raw = client.post(
        f"{url(team.client)}/{made['id']}/void",
        data="{",
        content_type="application/json",
        headers=auth(team.author),
    )
    assert raw.status_code in (400, 422)


def test_who_may_void(client, db, team):
    [day] = sessions(team, 1)
    made = record(client, team, day, phq9(9)).get_json()
    for user, status in (
        (team.supervisor, 403),
        (team.colleague, 404),
        (team.scheduler, 404),
        (team.owner, 404),
        (team.stranger, 404),
    ):
        assert_error(void(client, team, made["id"], user=user), status)
    # Another client's id, or a form id that is not one: 404 (audited), the form untouched.
    assert_error(void(client, team, uuid.uuid4()), 404)
    assert audit_rows(action="access.denied", object_type="measure")
    settle()
    assert report(client, team)["voided"] == []


def test_the_export_lists_a_void_form_as_voided_without_its_score(client, db, team):
    first, second = sessions(team, 2)
    gone = record(client, team, first, phq9(17)).get_json()
    kept = record(client, team, second, phq9(7)).get_json()
    void(client, team, gone["id"], "duplicate")
    settle()
    export = client.get(
        f"/api/v1/clients/{team.client.id}/export", headers=auth(team.author)
    ).get_json()
    assert export["record_destroyed"] is None
    forms = {m["id"]: m for m in export["measures"]}
    assert forms[gone["id"]]["voided"] is True
    assert forms[gone["id"]]["void_reason"] == "duplicate"
    assert "score" not in forms[gone["id"]]
    assert forms[kept["id"]]["voided"] is False and forms[kept["id"]]["score"] == 7
    assert forms[kept["id"]]["change_from_first"] == 0
