"""After `flask clients shred`: the client's clinical record answers 410 Gone over HTTP,
audited as a shredded record (not as tampering); appointments stay."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from practice.http import INTEGRITY_MESSAGE, SHREDDED_MESSAGE
from tests.factories import make_appointment
from tests.helpers import CANARY, assert_error, audit_rows, audit_text, auth, settle


@pytest.fixture
def shredded(app, client, db, team):
    """The team's client, with a figure, a script and a signed note, then shredded."""
    base, headers = f"/api/v1/clients/{team.client.id}", auth(team.author)
    figure = client.post(
        f"{base}/figures", json={"label": CANARY, "role": "mother"}, headers=headers
    )
    script = client.post(f"{base}/scripts", json={"name": CANARY}, headers=headers)
    body = {"session_date": "2026-03-02", "content": {"narrative": {"summary": CANARY}}}
    note = client.post(f"{base}/notes", json=body, headers=headers)
    assert (figure.status_code, script.status_code, note.status_code) == (201, 201, 201)
    assert (
        client.post(
            f"/api/v1/notes/{note.get_json()['id']}/sign", headers={**headers, "If-Match": '"1"'}
        ).status_code
        == 200
    )
    appointment = make_appointment(team.client, team.author)
    team.client.status = "discharged"
    team.client.discharge_date = date.today() - timedelta(days=8 * 366)
    settle()
    result = app.test_cli_runner().invoke(args=["clients", "shred", str(team.client.id)])
    assert result.exit_code == 0, result.output
    return {
        "note": note.get_json()["id"],
        "figure": figure.get_json()["id"],
        "script": script.get_json()["id"],
        "appointment": str(appointment.id),
    }


def test_a_shredded_clinical_record_is_gone_not_tampered(client, db, team, shredded):
    headers, base = auth(team.author), f"/api/v1/clients/{team.client.id}"
    reads = [
        f"/api/v1/notes/{shredded['note']}",
        f"{base}/notes",
        f"{base}/figures",
        f"{base}/scripts",
        f"{base}/scripts/{shredded['script']}",
        f"{base}/themes",
        f"{base}/themes.csv",
    ]
    for url in reads:
        response = client.get(url, headers=headers)
        body = assert_error(response, 410)
        assert body["message"] == SHREDDED_MESSAGE, url
        assert CANARY not in response.get_data(as_text=True)
    write = client.post(
        f"{base}/notes", json={"session_date": "2026-03-09", "content": {}}, headers=headers
    )
    assert assert_error(write, 410)["message"] == SHREDDED_MESSAGE
    assert INTEGRITY_MESSAGE not in write.get_data(as_text=True)
    assert audit_rows("crypto.shredded", outcome="failure")
    assert not audit_rows("crypto.integrity_failure")
    assert CANARY not in audit_text()
    # The appointment history and the (note-free) client export stay readable.
    listed = client.get(f"/api/v1/appointments/{shredded['appointment']}", headers=headers)
    assert listed.status_code == 200 and listed.get_json()["client_id"] == str(team.client.id)
    export = client.get(f"{base}/export", headers=headers)
    assert export.status_code == 200 and CANARY not in export.get_data(as_text=True)
    assert shredded["appointment"] in export.get_data(as_text=True)
