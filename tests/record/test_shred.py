"""After `flask clients shred`: the client's progress notes and plans answer 410 Gone
(audited as shredded, not tampered); the export keeps demographics and appointments."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from practice.http import SHREDDED_MESSAGE
from tests.helpers import CANARY, assert_error, audit_rows, auth, settle
from tests.record.helpers import draft_note, session_for, signed_plan

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def test_a_shredded_record_is_gone_and_the_export_keeps_the_rest(app, client, db, team):
    plan = signed_plan(client, team, {"problems": [CANARY], "goals": [{"text": "x"}]})
    appointment = session_for(team.client, team.author)
    note = draft_note(client, team, appointment, {"service_code": "90834", "plan": CANARY})
    note = note.get_json()
    signed = client.post(
        f"/api/v1/progress-notes/{note['id']}/sign",
        headers={**auth(team.author), "If-Match": '"1"'},
    )
    assert signed.status_code == 200
    team.client.status = "discharged"
    team.client.discharge_date = date.today() - timedelta(days=8 * 366)
    settle()
    result = app.test_cli_runner().invoke(args=["clients", "shred", str(team.client.id)])
    assert result.exit_code == 0, result.output
    for url in (
        f"/api/v1/progress-notes/{note['id']}",
        f"/api/v1/treatment-plans/{plan['id']}",
        f"/api/v1/clients/{team.client.id}/progress-notes",
        f"/api/v1/clients/{team.client.id}/treatment-plans",
    ):
        response = client.get(url, headers=auth(team.author))
        assert assert_error(response, 410)["message"] == SHREDDED_MESSAGE, url
        assert CANARY not in response.get_data(as_text=True)
    assert audit_rows("crypto.shredded", outcome="failure")
    assert not audit_rows("crypto.integrity_failure")
    exported = client.get(f"/api/v1/clients/{team.client.id}/export", headers=auth(team.owner))
    assert exported.status_code == 200
    body = exported.get_json()
    assert body["progress_notes"] == [] and body["treatment_plans"] == []
    # Empty, and saying why: destroyed with the key, not "none were written".
    assert body["measures"] == []
    assert "destroyed when the client's key was shredded" in body["record_destroyed"]
    assert body["appointments"] and CANARY not in exported.get_data(as_text=True)
