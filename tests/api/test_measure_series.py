"""The series each form carries: reading a client's scores opens one value per
instrument, and a form the latest one does not list is still read on its own."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from practice.database import new_id, utcnow
from practice.keys import client_keys
from practice.measures import series, service, timeline
from practice.measures.models import COLUMN, TABLE, MeasureScore
from tests.helpers import auth, settle
from tests.themes.factories import make_attended

START = date(2026, 4, 6)


def _record(http, team, appointment, total):
    answers, left = {}, total
    for item in "123456789":
        answers[item] = min(3, left)
        left -= answers[item]
    body = {"instrument": "phq9", "appointment_id": str(appointment.id), "responses": answers}
    response = http.post(
        f"/api/v1/clients/{team.client.id}/measures", json=body, headers=auth(team.author)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_the_latest_form_carries_every_score_and_one_value_is_opened(client, db, team):
    days = [make_attended(team.client, team.author, START + timedelta(weeks=i)) for i in range(3)]
    settle()
    ids = [_record(client, team, day, total) for day, total in zip(days, (15, 9, 4), strict=True)]
    latest = db.session.get(MeasureScore, uuid.UUID(ids[-1]))
    sealed = client_keys.unseal(team.client, TABLE, COLUMN, latest.id, latest.responses)
    hexes = [uuid.UUID(i).hex for i in ids]
    assert sealed["series"] == {
        hexes[0]: [15, [], False],
        hexes[1]: [9, [], False],
        hexes[2]: [4, [], False],
    }
    cipher = client_keys.client_cipher(team.client)
    opened = []
    original = cipher.unseal

    def counting(table, column, row_id, blob, version=None):
        opened.append(row_id)
        return original(table, column, row_id, blob, version)

    cipher.unseal = counting
    try:
        report = service.client_report(team.client, audited=False)
    finally:
        del cipher.unseal
    assert opened == [latest.id]
    assert [s["score"] for s in report["instruments"][0]["scores"]] == [15, 9, 4]


def test_a_form_missing_from_the_series_is_read_on_its_own(client, db, team):
    first, second = (
        make_attended(team.client, team.author, START + timedelta(weeks=i)) for i in range(2)
    )
    settle()
    _record(client, team, first, 12)
    # A form written without the series (as two at the same moment would miss each other),
    # recorded earlier than the latest one.
    stray = MeasureScore(
        id=new_id(), practice_id=team.client.practice_id, client_id=team.client.id,
        appointment_id=second.id, instrument="phq9", instrument_version=1,
        session_date=START + timedelta(weeks=1), recorded_by=team.author.id,
        created_at=utcnow() - timedelta(days=1),
    )  # fmt: skip
    sealed = {"responses": {}, "score": 7, "answered": 9, "prorated": False, "risk": ["9"]}
    stray.responses = client_keys.seal(team.client, TABLE, COLUMN, stray.id, sealed)
    db.session.add(stray)
    settle()
    report = service.client_report(team.client, audited=False)
    assert [s["score"] for s in report["instruments"][0]["scores"]] == [12, 7]
    assert report["risk_flags"][0]["measure_id"] == str(stray.id)
    # The next form carries the chunk of the latest (which does not list the stray one);
    # reading still finds all three.
    third = make_attended(team.client, team.author, START + timedelta(weeks=2))
    settle()
    _record(client, team, third, 3)
    report = service.client_report(team.client, audited=False)
    assert [s["score"] for s in report["instruments"][0]["scores"]] == [12, 7, 3]
    # The theme timeline's read, whose one query brings only the values a chain opens,
    # asks for the stray one by id and lists all three too.
    cipher = client_keys.client_cipher(team.client)
    assert [s[4] for s in timeline.load_scores(team.client, cipher)] == [12, 7, 3]


def test_the_timeline_query_brings_only_the_values_a_reader_opens(client, db, team):
    days = [make_attended(team.client, team.author, START + timedelta(days=i)) for i in range(34)]
    settle()
    ids = [uuid.UUID(_record(client, team, day, i % 28)) for i, day in enumerate(days)]
    rows = db.session.execute(
        timeline._SCORES,
        {"client_id": team.client.id, "practice_id": team.client.practice_id},
    ).all()
    carrying = {series.key(r[0]) for r in rows if r[5] is not None}
    # The last form of the full first chunk (the 32nd) and the latest form: no other value.
    assert carrying == {ids[31].hex, ids[33].hex}
    cipher = client_keys.client_cipher(team.client)
    assert [s[4] for s in timeline.load_scores(team.client, cipher)] == [i % 28 for i in range(34)]


class FakeCipher:
    """Opens "sealed" values that are the payloads themselves, counting what it opens."""

    def __init__(self):
        self.opened = []

    def unseal(self, table, column, row_id, blob, version=None):
        self.opened.append(row_id)
        return blob


def test_chunks_keep_each_value_small_and_reading_opens_one_per_chunk():
    payloads, previous_id, previous = {}, None, None
    ids = [uuid.UUID(int=n) for n in range(1, 71)]
    for n, mid in enumerate(ids, 1):
        carried, before = series.next_chunk(previous_id, previous)
        scored = {"score": n % 28, "risk": [], "prorated": False}
        carried[series.key(mid)] = series.entry(scored)
        previous_id, previous = mid, {**scored, "series": carried, "before": before}
        payloads[mid] = previous
    assert max(len(p["series"]) for p in payloads.values()) == series.CHUNK
    assert payloads[ids[32]]["before"] == ids[31].hex  # the 33rd form starts a chunk
    cipher = FakeCipher()
    rows = [(mid, "phq9", n) for n, mid in enumerate(ids)]
    by_key = {mid.hex: payload for mid, payload in payloads.items()}
    found = series.read(cipher, rows, lambda wanted: {k: by_key[k] for k in wanted})
    assert [found[mid.hex][0] for mid in ids] == [n % 28 for n in range(1, 71)]
    assert cipher.opened == [ids[69], ids[63], ids[31]]
    assert series.read(cipher, [], lambda wanted: {}) == {}
