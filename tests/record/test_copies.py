"""What leaves the system about a client: the record export carries the signed progress
notes and plans but never a process note; the author's own copy carries all of their
process notes, and only they get it."""

from __future__ import annotations

import pytest

from practice.clients.models import CareTeamMember
from tests.helpers import assert_error, audit_rows, audit_text, auth, settle, sign_in
from tests.record.helpers import draft_note, session_for, signed_plan

pytestmark = pytest.mark.usefixtures("cheap_hashing")
PROCESS_CANARY = "Narwhal-canary-3381: the dream about the locked attic"
RECORD_CANARY = "Ibis-canary-6620: sleep poor, appetite down"


def _process_note(client, team, text: str, day: str = "2026-03-02") -> dict:
    created = client.post(
        f"/api/v1/clients/{team.client.id}/notes",
        json={"session_date": day, "content": {"narrative": {"summary": text}}},
        headers=auth(team.author),
    )
    assert created.status_code == 201
    return created.get_json()


def _signed_progress_note(client, team) -> dict:
    appointment = session_for(team.client, team.author)
    content = {"service_code": "90834", "presenting_concerns": RECORD_CANARY}
    note = draft_note(client, team, appointment, content).get_json()
    url = f"/api/v1/progress-notes/{note['id']}/sign"
    signed = client.post(url, headers={**auth(team.author), "If-Match": '"1"'})
    assert signed.status_code == 200
    return signed.get_json()


def test_the_export_holds_the_record_and_never_a_process_note(client, db, team):
    process = _process_note(client, team, PROCESS_CANARY)
    client.post(
        f"/api/v1/notes/{process['id']}/sign", headers={**auth(team.author), "If-Match": '"1"'}
    )
    plan = signed_plan(client, team)
    note = _signed_progress_note(client, team)
    draft = draft_note(client, team, session_for(team.client, team.author, days_ago=9))
    for who in (team.owner, team.author):
        response = client.get(f"/api/v1/clients/{team.client.id}/export", headers=auth(who))
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert PROCESS_CANARY not in text and process["id"] not in text
        body = response.get_json()
        assert [n["id"] for n in body["progress_notes"]] == [note["id"]]
        assert draft.get_json()["id"] not in text  # drafts are not yet the record
        assert body["progress_notes"][0]["content"]["presenting_concerns"] == RECORD_CANARY
        assert body["progress_notes"][0]["session"]["modality"] == "in_person"
        assert [p["id"] for p in body["treatment_plans"]] == [plan["id"]]


def test_the_author_gets_every_process_note_of_theirs_in_their_copy(client, db, team):
    first = _process_note(client, team, PROCESS_CANARY)
    second = _process_note(client, team, "the second session", "2026-03-09")
    client.post(
        f"/api/v1/notes/{first['id']}/sign", headers={**auth(team.author), "If-Match": '"1"'}
    )
    client.post(
        f"/api/v1/notes/{first['id']}/addenda", json={"text": "later"}, headers=auth(team.author)
    )
    url = f"/api/v1/clients/{team.client.id}/own-notes"
    response = client.get(url, headers=auth(team.author))
    assert response.status_code == 200, response.get_json()
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert [n["id"] for n in body["notes"]] == [first["id"], second["id"]]
    assert body["notes"][0]["content"]["narrative"]["summary"] == PROCESS_CANARY
    assert body["notes"][0]["addenda"][0]["text"] == "later"
    assert body["client"]["last_name"] == team.client.last_name
    assert audit_rows(action="process_note.own_copy")[-1].object_id == str(team.client.id)
    assert PROCESS_CANARY not in audit_text()


def test_nobody_else_gets_the_authors_copy(client, db, team):
    _process_note(client, team, PROCESS_CANARY)
    url = f"/api/v1/clients/{team.client.id}/own-notes"
    for other in (
        team.owner,
        team.scheduler,
        team.supervisor,
        team.co_clinician,
        team.colleague,
        team.stranger,
    ):
        body = assert_error(client.get(url, headers=auth(other)), 404)
        assert PROCESS_CANARY not in str(body)
    # The co-clinician's copy holds their own notes only.
    client.post(
        f"/api/v1/clients/{team.client.id}/notes",
        json={"session_date": "2026-03-03", "content": {"narrative": {"summary": "mine"}}},
        headers=auth(team.co_clinician),
    )
    theirs = client.get(url, headers=auth(team.co_clinician)).get_json()
    assert [n["content"]["narrative"]["summary"] for n in theirs["notes"]] == ["mine"]


def test_a_clinician_who_left_the_care_keeps_their_copy(client, db, team):
    _process_note(client, team, PROCESS_CANARY)
    team.client.primary_clinician_id = team.colleague.id
    db.session.add(CareTeamMember(client_id=team.client.id, user_id=team.colleague.id))
    settle()
    url = f"/api/v1/clients/{team.client.id}/own-notes"
    response = client.get(url, headers=auth(team.author))
    assert response.status_code == 200
    assert PROCESS_CANARY in response.get_data(as_text=True)


def test_the_json_copy_names_the_figures_and_scripts_its_notes_refer_to(client, db, team):
    base = f"/api/v1/clients/{team.client.id}"
    figure = client.post(
        f"{base}/figures",
        json={"label": "Older brother", "role": "sibling"},
        headers=auth(team.author),
    ).get_json()
    script = client.post(
        f"{base}/scripts", json={"name": "Expects to be left"}, headers=auth(team.author)
    ).get_json()
    unused = client.post(
        f"{base}/scripts", json={"name": "Pleases to be kept"}, headers=auth(team.author)
    ).get_json()
    content = {
        "scripts_active": [script["id"]],
        "relationship_episodes": [
            {"figure_id": figure["id"], "when": "past", "wish": "to be seen", "fit": "clear"}
        ],
    }
    made = client.post(
        f"{base}/notes",
        json={"session_date": "2026-03-02", "content": content},
        headers=auth(team.author),
    )
    assert made.status_code == 201, made.get_json()
    body = client.get(f"{base}/own-notes", headers=auth(team.author)).get_json()
    assert body["figure_names"] == {figure["id"]: "Older brother"}
    assert body["script_names"] == {script["id"]: "Expects to be left"}
    assert unused["id"] not in body["script_names"]
    # The page shows the same names, from the same document.
    sign_in(client, team.author)
    page = client.get(f"/clients/{team.client.id}/own-notes").get_data(as_text=True)
    assert "Older brother" in page and "Expects to be left" in page
