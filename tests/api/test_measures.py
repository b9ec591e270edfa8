"""Measures over HTTP: recording forms, the report, who may do what, bad input, sealing,
audit, and the scores on the theme timeline (JSON, CSV, SVG)."""

from __future__ import annotations

import codecs
import csv
import io
import uuid
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from practice.measures.models import MeasureScore
from tests.factories import make_appointment
from tests.helpers import assert_error, audit_rows, audit_text, auth, count, settle
from tests.themes.factories import make_attended, make_note

pytestmark = pytest.mark.usefixtures("cheap_hashing")
START = date(2026, 3, 2)


def url(client) -> str:
    return f"/api/v1/clients/{client.id}/measures"


def phq9(total: int, item9: int = 0) -> dict:
    """PHQ-9 answers adding up to `total`, item 9 set to `item9`, filled from item 1."""
    answers, left = {}, total - item9
    for item in "12345678":
        answers[item] = min(3, left)
        left -= answers[item]
    assert left == 0
    answers["9"] = item9
    return answers


def gad7(total: int) -> dict:
    answers, left = {}, total
    for item in "1234567":
        answers[item] = min(3, left)
        left -= answers[item]
    return answers


def record(http, team, appointment, responses, instrument="phq9", user=None, client=None):
    body = {
        "instrument": instrument,
        "appointment_id": str(appointment.id),
        "responses": responses,
    }
    return http.post(url(client or team.client), json=body, headers=auth(user or team.author))


def sessions(team, n: int, client=None) -> list:
    """`n` weekly attended appointments of the client, committed."""
    made = [
        make_attended(client or team.client, team.author, START + timedelta(weeks=i))
        for i in range(n)
    ]
    settle()
    return made


def test_instruments_are_listed_with_items_bands_and_sources(client, db, team):
    response = client.get("/api/v1/instruments", headers=auth(team.scheduler))
    assert response.status_code == 200
    found = {i["id"]: i for i in response.get_json()["items"]}
    assert set(found) >= {"phq9", "gad7"}
    phq = found["phq9"]
    assert len(phq["items"]) == 9 and [o["value"] for o in phq["options"]] == [0, 1, 2, 3]
    assert phq["reliable_change"] == 6 and phq["caseness"] == 10
    assert phq["bands"][0] == {"min": 0, "max": 4, "label": "Minimal"}
    assert "Kroenke" in " ".join(phq["sources"].values())
    assert found["gad7"]["reliable_change"] == 4 and found["gad7"]["caseness"] == 8
    assert client.get("/api/v1/instruments").status_code == 401


def test_record_a_form_and_read_it_back(client, db, team):
    [appointment] = sessions(team, 1)
    response = record(client, team, appointment, phq9(14))
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert made["score"] == 14 and made["band"] == "Moderate" and not made["prorated"]
    assert made["responses"] == phq9(14) and made["risk_items"] == []
    assert made["session_date"] == START.isoformat()
    one = client.get(f"{url(team.client)}/{made['id']}", headers=auth(team.author))
    assert one.status_code == 200 and one.get_json()["score"] == 14
    assert one.headers["Cache-Control"] == "no-store"
    assert audit_rows(action="measure.create", object_id=made["id"])
    assert audit_rows(action="measure.read", object_id=made["id"])


def test_report_band_change_reliable_change_and_recovery(client, db, team):
    days = sessions(team, 4)
    for appointment, total in zip(days, (16, 11, 9, 22), strict=True):
        assert record(client, team, appointment, phq9(total)).status_code == 201
    for appointment, total in zip(days[:2], (12, 7), strict=True):
        assert record(client, team, appointment, gad7(total), "gad7").status_code == 201
    report = client.get(url(team.client), headers=auth(team.author)).get_json()
    lanes = {lane["instrument"]: lane["scores"] for lane in report["instruments"]}
    phq = lanes["phq9"]
    assert [s["score"] for s in phq] == [16, 11, 9, 22]
    assert [s["band"] for s in phq] == ["Moderately severe", "Moderate", "Mild", "Severe"]
    assert [s["change_from_first"] for s in phq] == [0, -5, -7, 6]
    assert [s["reliable_change"] for s in phq] == [None, None, "improvement", "deterioration"]
    assert [s["recovered"] for s in phq] == [False, False, True, False]
    gad = lanes["gad7"]
    assert [(s["change_from_first"], s["reliable_change"], s["recovered"]) for s in gad] == [
        (0, None, False),
        (-5, "improvement", True),
    ]
    assert report["risk_flags"] == []
    assert audit_rows(action="measure.list", object_id=team.client.id)


def test_item_9_above_zero_raises_the_risk_flag_for_the_latest_form(client, db, team):
    first, second = sessions(team, 2)
    assert record(client, team, first, phq9(12, item9=1)).status_code == 201
    flags = client.get(url(team.client), headers=auth(team.author)).get_json()["risk_flags"]
    assert [(f["instrument"], f["item"], f["date"]) for f in flags] == [
        ("phq9", "9", START.isoformat())
    ]
    assert "item 9" in flags[0]["message"]
    assert record(client, team, second, phq9(8)).status_code == 201
    report = client.get(url(team.client), headers=auth(team.author)).get_json()
    assert report["risk_flags"] == []  # the latest form answered item 9 "Not at all"
    assert report["instruments"][0]["scores"][0]["risk_items"] == ["9"]


def test_responses_and_scores_are_sealed_and_kept_out_of_the_audit(client, db, team):
    [appointment] = sessions(team, 1)
    made = record(client, team, appointment, phq9(23, item9=2)).get_json()
    settle()
    table = MeasureScore.__table__
    row = (
        db.session.execute(sa.select(table).where(table.c.id == uuid.UUID(made["id"])))
        .mappings()
        .one()
    )
    blob = bytes(row["responses"])
    for plain in (b'"score"', b'"responses"', b'"9":2', b'"prorated"'):
        assert plain not in blob
    plain_columns = {k: v for k, v in row.items() if k != "responses"}
    assert set(plain_columns) == {
        "id", "practice_id", "client_id", "appointment_id", "instrument",
        "instrument_version", "session_date", "recorded_by", "created_at",
        "voided_at", "voided_by", "void_reason",  # a void's bookkeeping: no clinical words
    }  # fmt: skip
    assert '"score"' not in audit_text() and "Moderately" not in audit_text()


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [
        ("author", 200, 201),
        ("co_clinician", 200, 201),  # a clinician on the care team
        ("supervisor", 200, 403),  # supervises the author: reads only
        ("colleague", 404, 404),
        ("owner", 404, 404),  # an owner who is not the client's clinician
        ("scheduler", 404, 404),
        ("stranger", 404, 404),  # another practice
    ],
)
def test_who_reads_and_who_records(client, db, team, who, read, write):
    [appointment] = sessions(team, 1)
    user = getattr(team, who)
    assert client.get(url(team.client), headers=auth(user)).status_code == read
    response = record(client, team, appointment, phq9(3), user=user)
    assert response.status_code == write
    if write != 201:
        assert count(MeasureScore) == 0


def test_a_second_form_of_the_same_instrument_for_a_session_is_409(client, db, team):
    [appointment] = sessions(team, 1)
    assert record(client, team, appointment, phq9(3)).status_code == 201
    settle()
    assert_error(record(client, team, appointment, phq9(4)), 409)
    assert record(client, team, appointment, gad7(4), "gad7").status_code == 201


@pytest.mark.parametrize(
    ("responses", "field"),
    [
        ({str(i): 1 for i in range(1, 9)}, "responses"),  # eight of nine items
        ({**{str(i): 1 for i in range(1, 10)}, "10": 1}, "10"),  # an item too many
        ({**{str(i): 1 for i in range(1, 9)}, "9": 4}, "9"),  # out of range
        ({**{str(i): 1 for i in range(1, 9)}, "9": -1}, "9"),
        ({**{str(i): 1 for i in range(1, 9)}, "9": None}, "9"),  # item 9 left out
    ],
)
def test_bad_forms_are_422_naming_the_item(client, db, team, responses, field):
    [appointment] = sessions(team, 1)
    body = assert_error(record(client, team, appointment, responses), 422)
    assert field in body["errors"]["json"]["responses"]
    assert count(MeasureScore) == 0


@pytest.mark.parametrize(
    "responses",
    [[1, 2, 3], "all fine", {str(i): "1" for i in range(1, 10)}, {}, {"1": True}],
)
def test_malformed_responses_are_422(client, db, team, responses):
    [appointment] = sessions(team, 1)
    assert_error(record(client, team, appointment, responses), 422)


def test_appointments_of_others_and_unknown_instruments_are_422(client, db, team):
    [mine] = sessions(team, 1)
    other = make_appointment(team.other_client, team.author)
    foreign = make_appointment(team.foreign_client, team.stranger)
    called_off = make_appointment(team.client, team.author, status="cancelled")
    settle()
    for appointment in (other, foreign, called_off):
        body = assert_error(record(client, team, appointment, phq9(3)), 422)
        assert "appointment_id" in body["errors"]["json"]
    missing = type("Missing", (), {"id": uuid.uuid4()})
    assert_error(record(client, team, missing, phq9(3)), 422)
    body = assert_error(record(client, team, mine, phq9(3), instrument="bdi2"), 422)
    assert "instrument" in body["errors"]["json"]
    assert count(MeasureScore) == 0


def test_other_practices_ids_and_other_clients_forms_are_404(client, db, team):
    [appointment] = sessions(team, 1)
    made = record(client, team, appointment, phq9(3)).get_json()
    assert_error(client.get(url(team.foreign_client), headers=auth(team.author)), 404)
    assert_error(record(client, team, appointment, phq9(3), client=team.foreign_client), 404)
    # A form of this client read through another client's address: 404, audited.
    other_url = f"{url(team.other_client)}/{made['id']}"
    assert_error(client.get(other_url, headers=auth(team.author)), 404)
    assert audit_rows(action="access.denied", object_id=made["id"])
    assert_error(client.get(f"{url(team.client)}/{uuid.uuid4()}", headers=auth(team.author)), 404)
    stranger = client.get(f"{url(team.client)}/{made['id']}", headers=auth(team.stranger))
    assert_error(stranger, 404)


def _history_world(client, team):
    """Three attended sessions with signed notes; PHQ-9 on all three, GAD-7 on the first;
    and a fourth session with a score but no note."""
    days = sessions(team, 4)
    notes = [
        make_note(team.client, team.author, START + timedelta(weeks=i), {}, appointment=a)
        for i, a in enumerate(days[:3])
    ]
    settle()
    for appointment, total in zip(days, (18, 14, 11, 9), strict=True):
        assert record(client, team, appointment, phq9(total)).status_code == 201
    assert record(client, team, days[0], gad7(9), "gad7").status_code == 201
    settle()
    return days, notes


def test_theme_history_json_carries_scores_per_session(client, db, team):
    _days, notes = _history_world(client, team)
    themes = f"/api/v1/clients/{team.client.id}/themes"
    history = client.get(themes, headers=auth(team.author)).get_json()
    per_session = history["per_session"]
    assert [s["scores"] for s in per_session] == [
        {"gad7": 9, "phq9": 18},
        {"phq9": 14},
        {"phq9": 11},
    ]
    lanes = {lane["instrument"]: lane for lane in history["measures"]}
    phq = lanes["phq9"]["scores"]
    assert [s["note_id"] for s in phq] == [str(n.id) for n in notes] + [None]
    assert [s["session_number"] for s in phq] == [1, 2, 3, 4]
    assert [s["reliable_change"] for s in phq] == [None, None, "improvement", "improvement"]
    assert phq[-1]["recovered"] is True  # 18 → 9: a case, now below 10, fell by 9
    # A window keeps change counted from the first score ever.
    window = client.get(
        f"{themes}?from={(START + timedelta(weeks=2)).isoformat()}", headers=auth(team.author)
    ).get_json()
    [lane] = [x for x in window["measures"] if x["instrument"] == "phq9"]
    assert [(s["score"], s["change_from_first"]) for s in lane["scores"]] == [(11, -7), (9, -9)]


def test_theme_history_csv_has_score_columns(client, db, team):
    _history_world(client, team)
    response = client.get(f"/api/v1/clients/{team.client.id}/themes.csv", headers=auth(team.author))
    rows = list(csv.reader(io.StringIO(codecs.decode(response.data, "utf-8-sig"))))
    header = rows[0]
    assert header[-2:] == ["gad7_score", "phq9_score"]
    body = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    # No script was observed: one score-only row per session, the noteless one too.
    assert [(r["session_number"], r["gad7_score"], r["phq9_score"]) for r in body] == [
        ("1", "9", "18"),
        ("2", "", "14"),
        ("3", "", "11"),
        ("4", "", "9"),
    ]
    assert body[-1]["note_id"] == "" and body[0]["script_id"] == ""


def test_theme_history_svg_has_score_lanes(client, db, team):
    _history_world(client, team)
    response = client.get(f"/api/v1/clients/{team.client.id}/themes.svg", headers=auth(team.author))
    tree = ET.fromstring(response.data)  # noqa: S314 (our own SVG)
    texts = [t.text for t in tree.iter("{http://www.w3.org/2000/svg}text")]
    assert "PHQ-9" in texts and "GAD-7" in texts
    titles = [t.text for t in tree.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith("session 3,") and "PHQ-9 11 (Moderate)" in t for t in titles)
    assert len(list(tree.iter("{http://www.w3.org/2000/svg}polyline"))) == 1  # PHQ-9's line


def test_a_history_without_scores_has_no_score_columns(client, db, team):
    [appointment] = sessions(team, 1)
    make_note(team.client, team.author, START, {}, appointment=appointment)
    settle()
    base = f"/api/v1/clients/{team.client.id}/themes"
    history = client.get(base, headers=auth(team.author)).get_json()
    assert history["measures"] == [] and history["per_session"][0]["scores"] == {}
    header = client.get(f"{base}.csv", headers=auth(team.author)).data.decode("utf-8-sig")
    assert "score" not in header.splitlines()[0]
