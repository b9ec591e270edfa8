"""If-Match on every write to a progress note or plan draft, as for process notes: none
or `*` is 428, another version 412, nothing changes and the refusal is audited; a signed
one answers 409 whatever the If-Match; addenda need none."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from practice.record.models import ProgressNote, TreatmentPlan
from tests.helpers import assert_error, audit_rows, auth
from tests.record.helpers import draft_note, session_for

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def _writes(client, team):
    appointment = session_for(team.client, team.author)
    note = draft_note(client, team, appointment, {"service_code": "90834"}).get_json()
    plan = client.post(
        f"/api/v1/clients/{team.client.id}/treatment-plans",
        json={"content": {"goals": [{"text": "Tolerate a break"}]}, "review_date": "2027-01-04"},
        headers=auth(team.author),
    ).get_json()
    note_url = f"/api/v1/progress-notes/{note['id']}"
    plan_url = f"/api/v1/treatment-plans/{plan['id']}"
    body = {"content": {"service_code": "90834"}}

    def send(method, url, tag, json=None):
        headers = {**auth(team.author), **({"If-Match": tag} if tag is not None else {})}
        return client.open(url, method=method, headers=headers, json=json)

    return [
        ("note PUT", lambda tag: send("PUT", note_url, tag, body)),
        ("note sign", lambda tag: send("POST", f"{note_url}/sign", tag)),
        ("plan PUT", lambda tag: send("PUT", plan_url, tag, {"content": {"problems": ["x"]}})),
        ("plan sign", lambda tag: send("POST", f"{plan_url}/sign", tag)),
    ]


@pytest.mark.parametrize(
    ("tag", "status", "says"),
    [
        (None, 428, "Send If-Match"),
        ("*", 428, "If-Match: * is not accepted"),
        ('W/"*"', 428, "If-Match: * is not accepted"),
        ('"2"', 412, "changed since you read it"),
        ("garbage", 412, "changed since you read it"),
    ],
)
def test_every_draft_write_needs_the_version_it_read(client, db, team, tag, status, says):
    for name, send in _writes(client, team):
        before = len(audit_rows())
        body = assert_error(send(tag), status)
        assert says in body["message"], name
        assert [row.outcome for row in audit_rows()[before:]] == ["failure"], name
    assert {n.version for n in db.session.scalars(sa.select(ProgressNote))} == {1}
    assert {p.version for p in db.session.scalars(sa.select(TreatmentPlan))} == {1}


def test_signed_ones_answer_409_and_addenda_need_no_if_match(client, db, team):
    writes = dict(_writes(client, team))
    assert writes["note sign"]('"1"').status_code == 200
    assert writes["plan sign"]('"1"').status_code == 200
    for name in writes:
        for tag in (None, "*", '"1"', '"2"'):
            assert_error(writes[name](tag), 409)
    note = db.session.scalar(sa.select(ProgressNote))
    added = client.post(
        f"/api/v1/progress-notes/{note.id}/addenda",
        json={"text": "later"},
        headers=auth(team.author),
    )
    assert added.status_code == 201 and added.headers["ETag"] == '"2"'
