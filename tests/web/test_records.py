"""Figures and scripts as pages: create, edit against the version, status, merge."""

from __future__ import annotations

from practice.extensions import db
from practice.notes import scripts
from practice.notes.models import Script
from tests.helpers import assert_page, csrf_of, settle, sign_in


def test_scripts_are_named_edited_and_merged(client, team):
    sign_in(client, team.author)
    token = csrf_of(client)
    base = f"/clients/{team.client.id}/scripts"
    assert_page(client.get(f"{base}/new"))
    empty = client.post(f"{base}/new", data={"csrf_token": token, "wish": "to be wanted"})
    text = assert_page(empty, 422)
    assert 'id="err-name"' in text and "to be wanted" in text
    made = client.post(
        f"{base}/new",
        data={
            "csrf_token": token,
            "name": "Waits to be chosen",
            "wish": "to be wanted",
            "status": "hypothesis",
        },
    )
    assert made.status_code == 302
    first = db.session.scalars(scripts.scripts_query(team.client)).one()
    edit = f"{base}/{first.id}/edit"
    assert "Waits to be chosen" in assert_page(client.get(edit))
    saved = client.post(
        edit,
        data={
            "csrf_token": token,
            "version": "1",
            "name": "Waits to be chosen",
            "status": "working",
        },
    )
    assert saved.status_code == 302
    db.session.refresh(first)
    assert first.status == "working" and first.version == 2
    stale = client.post(
        edit, data={"csrf_token": token, "version": "1", "name": "My older idea", "status": "focal"}
    )
    text = assert_page(stale, 409)
    assert "My older idea" in text and "Waits to be chosen" in text
    assert_page(
        client.post(
            edit, data={"csrf_token": token, "version": "2", "name": "x", "status": "sleeping"}
        ),
        422,
    )
    client.post(
        f"{base}/new", data={"csrf_token": token, "name": "Keeps away", "status": "hypothesis"}
    )
    second = db.session.scalars(scripts.scripts_query(team.client)).all()[1]
    merge = f"{base}/{first.id}/merge"
    assert "What a merge does" in assert_page(client.get(merge))
    assert_page(client.post(merge, data={"csrf_token": token, "version": "2"}), 422)
    assert_page(
        client.post(merge, data={"csrf_token": token, "version": "1", "into": str(second.id)}), 412
    )
    merged = client.post(merge, data={"csrf_token": token, "version": "2", "into": str(second.id)})
    assert merged.status_code == 302
    assert db.session.get(Script, first.id).merged_into_id == second.id
    assert_page(client.get(edit), 409)


def test_figures_are_added_and_edited(client, team):
    sign_in(client, team.author)
    token = csrf_of(client)
    base = f"/clients/{team.client.id}/figures"
    refused = client.post(
        f"{base}/new",
        data={"csrf_token": token, "label": "Dr B", "role": "therapist", "period": "current"},
    )
    assert "built-in therapist" in assert_page(refused, 422)
    assert_page(
        client.post(f"{base}/new", data={"csrf_token": token, "label": "Sam", "role": "cousin"}),
        422,
    )
    made = client.post(
        f"{base}/new",
        data={"csrf_token": token, "label": "Sam", "role": "sibling", "period": "current"},
    )
    assert made.status_code == 302
    page = client.get(f"/clients/{team.client.id}").get_data(as_text=True)
    assert "Sam" in page
    settle()


def test_a_supervisor_cannot_open_the_forms(client, team):
    sign_in(client, team.supervisor)
    for path in (
        f"/clients/{team.client.id}/scripts/new",
        f"/clients/{team.client.id}/figures/new",
    ):
        assert_page(client.get(path), 403)
