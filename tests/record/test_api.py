"""Progress notes and treatment plans over the API: the flow, the rules, bad input."""

from __future__ import annotations

import uuid

import pytest

from practice.record import codes
from tests.helpers import CANARY, assert_error, audit_rows, audit_text, auth, settle
from tests.record.helpers import PLAN, draft_note, session_for, signed_plan

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def matched(user, tag):
    return {**auth(user), "If-Match": tag}


def test_a_session_recorded_rated_against_the_plan_signed_and_addended(client, db, team):
    plan = signed_plan(client, team)
    goal = plan["content"]["goals"][0]
    assert uuid.UUID(goal["id"]) and plan["status"] == "signed" and plan["number"] == 1
    appointment = session_for(team.client, team.author, modality="video")
    created = draft_note(client, team, appointment)
    assert created.status_code == 201, created.get_json()
    note = created.get_json()
    assert note["plan_id"] == plan["id"] and note["version"] == 1
    assert note["session"]["modality"] == "video" and note["session"]["kind"] == "individual"
    assert [(p["role"], p["id"]) for p in note["session"]["participants"]] == [
        ("client", str(team.client.id)),
        ("clinician", str(team.author.id)),
    ]
    content = {
        "service_code": "90834",
        "diagnoses": ["F41.1", "F33.0"],
        "presenting_concerns": CANARY,
        "mental_status": {"mood": {"pick": "anxious", "text": "worried about work"}},
        "risk": {"suicidal_ideation": "passive", "risk_level": "low", "safety_plan": True},
        "interventions": ["clarification", "exploration_of_transference"],
        "goal_progress": [{"goal_id": goal["id"], "rating": "some_progress", "text": "named it"}],
        "plan": "Continue weekly.",
    }
    url = f"/api/v1/progress-notes/{note['id']}"
    saved = client.put(url, json={"content": content}, headers=matched(team.author, '"1"'))
    assert saved.status_code == 200, saved.get_json()
    assert saved.headers["ETag"] == '"2"'
    signed = client.post(f"{url}/sign", headers=matched(team.author, '"2"'))
    assert signed.status_code == 200, signed.get_json()
    body = signed.get_json()
    assert body["status"] == "signed" and body["content"]["presenting_concerns"] == CANARY
    assert body["content"]["mental_status"]["mood"] == {
        "pick": "anxious",
        "text": "worried about work",
    }
    assert_error(
        client.put(url, json={"content": content}, headers=matched(team.author, '"3"')), 409
    )
    added = client.post(f"{url}/addenda", json={"text": "later"}, headers=auth(team.co_clinician))
    assert added.status_code == 201 and added.get_json()["addenda"][0]["text"] == "later"
    for reader in (team.co_clinician, team.supervisor):
        assert client.get(url, headers=auth(reader)).status_code == 200
    for outsider in (team.owner, team.scheduler, team.colleague, team.stranger):
        assert_error(client.get(url, headers=auth(outsider)), 404)
    assert_error(
        client.post(f"{url}/addenda", json={"text": "x"}, headers=auth(team.supervisor)), 403
    )
    listed = client.get(
        f"/api/v1/clients/{team.client.id}/progress-notes", headers=auth(team.supervisor)
    )
    assert listed.status_code == 200 and listed.get_json()["total"] == 1
    actions = {row.action for row in audit_rows()}
    assert {"progress_note.create", "progress_note.update", "progress_note.sign",
            "progress_note.addendum", "progress_note.read"} <= actions  # fmt: skip
    assert CANARY not in audit_text()


def test_a_new_plan_version_copies_the_current_one_and_supersedes_it(client, db, team):
    first = signed_plan(client, team)
    base = f"/api/v1/clients/{team.client.id}/treatment-plans"
    draft = client.post(base, json={}, headers=auth(team.author)).get_json()
    assert draft["number"] == 2 and draft["status"] == "draft"
    assert draft["content"] == first["content"] and draft["review_date"] == first["review_date"]
    assert_error(client.post(base, json={}, headers=auth(team.author)), 409)  # one draft at a time
    goals = draft["content"]["goals"] + [{"text": "Tolerate a break"}]
    body = {"content": {**draft["content"], "goals": goals}, "review_date": "2027-09-01"}
    url = f"/api/v1/treatment-plans/{draft['id']}"
    saved = client.put(url, json=body, headers=matched(team.author, '"1"'))
    assert saved.status_code == 200, saved.get_json()
    kept, new = saved.get_json()["content"]["goals"]
    assert kept["id"] == first["content"]["goals"][0]["id"] and uuid.UUID(new["id"])
    assert client.post(f"{url}/sign", headers=matched(team.author, '"2"')).status_code == 200
    listed = client.get(base, headers=auth(team.co_clinician)).get_json()["items"]
    assert [(p["number"], p["status"]) for p in listed] == [(2, "signed"), (1, "signed")]
    # The first version is untouched: its content and version are what was signed.
    again = client.get(f"/api/v1/treatment-plans/{first['id']}", headers=auth(team.author))
    assert again.get_json()["content"] == first["content"] and again.headers["ETag"] == '"2"'


def test_goals_name_scripts_of_the_client_only(client, db, team):
    mine = client.post(
        f"/api/v1/clients/{team.client.id}/scripts",
        json={"name": "expects to be left"},
        headers=auth(team.author),
    ).get_json()
    theirs = client.post(
        f"/api/v1/clients/{team.other_client.id}/scripts",
        json={"name": "pleases"},
        headers=auth(team.author),
    ).get_json()
    base = f"/api/v1/clients/{team.client.id}/treatment-plans"

    def plan_naming(script_id):
        goal = {"text": "Notice it as it happens", "script_ids": [script_id]}
        return client.post(base, json={"content": {"goals": [goal]}}, headers=auth(team.author))

    for bad in (theirs["id"], str(uuid.uuid4())):
        body = assert_error(plan_naming(bad), 422)
        assert "script_ids" in str(body["errors"])
    made = plan_naming(mine["id"])
    assert made.status_code == 201
    assert made.get_json()["content"]["goals"][0]["script_ids"] == [mine["id"]]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"diagnoses": ["F4.11"]}, "diagnoses"),
        ({"diagnoses": ["f41.1"]}, "diagnoses"),
        ({"diagnoses": ["F41.1", "F41.1"]}, "diagnoses"),
        ({"service_code": "99213"}, "service_code"),
        ({"service_code": "90834; DROP"}, "service_code"),
        ({"mental_status": {"mood": {"pick": "ecstatic"}}}, "mental_status"),
        ({"risk": {"suicidal_ideation": "sometimes"}}, "risk"),
        ({"interventions": ["hypnosis"]}, "interventions"),
        (
            {"goal_progress": [{"goal_id": str(uuid.uuid4()), "rating": "achieved"}]},
            "goal_progress",
        ),
        ({"goal_progress": [{"goal_id": "not-a-uuid", "rating": "achieved"}]}, "goal_progress"),
    ],
)
def test_bad_progress_note_content_is_422(client, db, team, content, field):
    appointment = session_for(team.client, team.author)
    body = assert_error(draft_note(client, team, appointment, content), 422)
    assert field in str(body["errors"])


def test_a_goal_of_another_clients_plan_is_refused(client, db, team):
    signed_plan(client, team)
    other = client.post(
        f"/api/v1/clients/{team.other_client.id}/treatment-plans",
        json={"content": PLAN, "review_date": "2027-06-01"},
        headers=auth(team.author),
    ).get_json()
    foreign_goal = other["content"]["goals"][0]["id"]
    appointment = session_for(team.client, team.author)
    rated = {"goal_progress": [{"goal_id": foreign_goal, "rating": "achieved"}]}
    assert "goal_progress" in str(assert_error(draft_note(client, team, appointment, rated), 422))
    # Nor can a plan adopt another client's goal id.
    base = f"/api/v1/clients/{team.client.id}/treatment-plans"
    stolen = {"content": {"goals": [{"id": foreign_goal, "text": "Mine now"}]}}
    assert "goals" in str(
        assert_error(client.post(base, json=stolen, headers=auth(team.author)), 422)
    )


def test_appointments_of_another_client_or_practice_or_cancelled_are_refused(client, db, team):
    for appointment in (
        session_for(team.other_client, team.author),
        session_for(team.foreign_client, team.stranger),
    ):
        body = assert_error(draft_note(client, team, appointment), 422)
        assert "appointment_id" in body["errors"]["json"]
    cancelled = session_for(team.client, team.author)
    cancelled.status = "cancelled"
    settle()
    assert (
        "appointment_id" in assert_error(draft_note(client, team, cancelled), 422)["errors"]["json"]
    )
    missing = client.post(
        f"/api/v1/clients/{team.client.id}/progress-notes",
        json={"appointment_id": str(uuid.uuid4())},
        headers=auth(team.author),
    )
    assert_error(missing, 422)


def test_one_note_per_appointment(client, db, team):
    appointment = session_for(team.client, team.author)
    assert draft_note(client, team, appointment).status_code == 201
    assert_error(draft_note(client, team, appointment, user=team.co_clinician), 409)


def test_other_practice_ids_and_roles_get_404_or_403(client, db, team):
    foreign = f"/api/v1/clients/{team.foreign_client.id}"
    for path in ("progress-notes", "treatment-plans"):
        assert_error(client.get(f"{foreign}/{path}", headers=auth(team.author)), 404)
    appointment = session_for(team.client, team.author)
    note = draft_note(client, team, appointment).get_json()
    url = f"/api/v1/progress-notes/{note['id']}"
    assert_error(client.get(url, headers=auth(team.stranger)), 404)
    assert_error(client.put(url, json={"content": {}}, headers=matched(team.stranger, '"1"')), 404)
    # A colleague in the care team reads a draft but may not change or sign it.
    assert client.get(url, headers=auth(team.co_clinician)).status_code == 200
    assert_error(
        client.put(url, json={"content": {}}, headers=matched(team.co_clinician, '"1"')), 403
    )
    assert_error(client.post(f"{url}/sign", headers=matched(team.co_clinician, '"1"')), 403)
    assert_error(draft_note(client, team, appointment, user=team.scheduler), 404)
    assert_error(draft_note(client, team, appointment, user=team.supervisor), 403)


def test_signing_needs_a_service_code_and_a_plan_needs_goals_and_a_review_date(client, db, team):
    appointment = session_for(team.client, team.author)
    note = draft_note(client, team, appointment).get_json()
    url = f"/api/v1/progress-notes/{note['id']}/sign"
    assert "service_code" in str(
        assert_error(client.post(url, headers=matched(team.author, '"1"')), 422)
    )
    base = f"/api/v1/clients/{team.client.id}/treatment-plans"
    plan = client.post(base, json={}, headers=auth(team.author)).get_json()
    refused = assert_error(
        client.post(
            f"/api/v1/treatment-plans/{plan['id']}/sign", headers=matched(team.author, '"1"')
        ),
        422,
    )
    assert "goals" in str(refused["errors"]) and "review_date" in str(refused["errors"])


def test_the_practice_changes_its_service_codes(client, db, team):
    url = "/api/v1/record-codes"
    got = client.get(url, headers=auth(team.scheduler)).get_json()
    assert got["service_codes"] == list(codes.DEFAULT_SERVICE_CODES)
    assert "clarification" in got["vocabularies"]["interventions"]
    body = {"service_codes": ["90834", "H0004"], "diagnosis_codes": ["F41.1", "Z63.0"]}
    assert_error(client.put(url, json=body, headers=auth(team.author)), 403)
    assert client.put(url, json=body, headers=auth(team.owner)).status_code == 200
    for bad in ({**body, "diagnosis_codes": ["F41.1x"]}, {**body, "service_codes": []}):
        assert_error(client.put(url, json=bad, headers=auth(team.owner)), 422)
    appointment = session_for(team.client, team.author)
    assert "service_code" in str(
        assert_error(draft_note(client, team, appointment, {"service_code": "90837"}), 422)
    )
    assert draft_note(client, team, appointment, {"service_code": "H0004"}).status_code == 201
    other = client.get(url, headers=auth(team.stranger)).get_json()
    assert other["service_codes"] == list(codes.DEFAULT_SERVICE_CODES)  # per practice


def test_reach_ends_with_the_supervision_link_and_the_care(client, db, team):
    from practice.clients.models import CareTeamMember
    from practice.database import utcnow

    appointment = session_for(team.client, team.author)
    note = draft_note(client, team, appointment).get_json()
    url = f"/api/v1/progress-notes/{note['id']}"
    assert client.get(url, headers=auth(team.supervisor)).status_code == 200
    team.link.ended_at = utcnow()
    db.session.delete(db.session.get(CareTeamMember, (team.client.id, team.co_clinician.id)))
    settle()
    for reader in (team.supervisor, team.co_clinician):
        assert_error(client.get(url, headers=auth(reader)), 404)
        listed = client.get(
            f"/api/v1/clients/{team.client.id}/progress-notes", headers=auth(reader)
        )
        assert_error(listed, 404)
