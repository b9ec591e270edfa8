"""Clinical pages: the week, clients, the note editor (bad input, stale saves, signing,
addenda), theme history; a supervisor reads only; owners and schedulers get the 404 page."""

from __future__ import annotations

import re
from datetime import timedelta

from practice.database import utcnow
from practice.extensions import db
from practice.notes import scripts
from practice.notes.figures import create_figure, ensure_therapist_figure
from practice.scheduling.models import Appointment
from tests.factories import make_appointment
from tests.helpers import assert_page, csrf_of, settle, sign_in, start_note, title


def test_my_week_shows_my_appointments_and_marks_them(client, team):
    past = make_appointment(
        team.client, team.author, starts_at=utcnow().replace(microsecond=0) - timedelta(hours=1)
    )
    coming = make_appointment(
        team.client, team.author, starts_at=utcnow().replace(microsecond=0) + timedelta(days=8)
    )
    make_appointment(team.foreign_client, team.stranger)
    settle()
    sign_in(client, team.author)
    this_week = assert_page(client.get("/week"))
    assert f'id="a-{past.id}"' in this_week and "Today" in this_week
    assert team.client.last_name in this_week
    token = csrf_of(client)
    marked = client.post(
        f"/appointments/{past.id}/status", data={"csrf_token": token, "status": "attended"}
    )
    assert marked.status_code == 302
    assert db.session.get(Appointment, past.id).status == "attended"
    early = client.post(
        f"/appointments/{coming.id}/status", data={"csrf_token": token, "status": "no_show"}
    )
    assert "has not started" in assert_page(early, 409)
    wrong = client.post(
        f"/appointments/{past.id}/status", data={"csrf_token": token, "status": "cancelled"}
    )
    assert_page(wrong, 400)
    later = (utcnow() + timedelta(days=8)).date().isoformat()
    assert f'id="a-{coming.id}"' in assert_page(client.get(f"/week/{later}"))


def test_clients_search_and_a_clients_page(client, team):
    sign_in(client, team.author)
    listed = assert_page(client.get("/clients"))
    assert team.client.last_name in listed and team.foreign_client.last_name not in listed
    none = assert_page(client.get("/clients?q=zzzznobody"))
    assert "No client matches" in none
    page = assert_page(client.get(f"/clients/{team.client.id}"))
    initials = (team.client.first_name[0] + team.client.last_name[0]).upper()
    assert title(page) == f"Client {initials} · practice"
    assert "Therapist" in page  # the built-in figure
    assert_page(client.get(f"/clients/{team.foreign_client.id}"), 404)
    assert_page(client.get(f"/clients?q={'x' * 101}"), 400)


def test_the_note_editor_keeps_input_shows_errors_and_never_loses_a_stale_text(client, team):
    therapist = ensure_therapist_figure(team.client)
    script = scripts.create_script(
        team.author, team.client, {"name": "Expects to be dropped"}, "working"
    )
    settle()
    sign_in(client, team.author)
    edit = start_note(client, team)
    token = csrf_of(client)
    added = client.post(
        edit,
        data={
            "csrf_token": token,
            "version": "1",
            "action": "add:relationship_episodes",
            "narrative.summary": "Kept while adding",
        },
    )
    text = assert_page(added)
    assert 'name="relationship_episodes.0.wish"' in text and "Kept while adding" in text
    assert 'data-focus="relationship_episodes-0"' in text
    base = {
        "csrf_token": token,
        "version": "1",
        "action": "save",
        "narrative.summary": "She spoke of her sister.",
        "relationship_episodes.0.figure_id": str(therapist.id),
        "relationship_episodes.0.wish": "to be noticed",
        "relationship_episodes.0.script_id": str(script.id),
        "transference.present": "true",
        "transference.text": "Waited for my verdict.",
    }
    bad = client.post(
        edit, data={**base, "transference.intensity": "7", "ruptures.0.type": "sulking"}
    )
    text = assert_page(bad, 422)
    assert 'id="err-transference-intensity"' in text and 'id="err-ruptures-0-type"' in text
    assert "to be noticed" in text and "Waited for my verdict." in text
    assert client.post(edit, data=base).status_code == 302
    assert "Draft saved (version 2)" in client.get(edit + "?saved=1").get_data(as_text=True)
    stale = client.post(edit, data={**base, "narrative.summary": "My other tab's words."})
    text = assert_page(stale, 409)
    assert "My other tab&#39;s words." in text and "She spoke of her sister." in text
    assert 'name="version" value="2"' in text  # saving mine now is a choice
    note_id = edit.split("/")[2]
    assert "She spoke" not in title(text) and "Note " in title(text)
    signed = client.post(f"/notes/{note_id}/sign", data={"csrf_token": token, "version": "1"})
    assert_page(signed, 412)
    assert (
        client.post(
            f"/notes/{note_id}/sign", data={"csrf_token": token, "version": "2"}
        ).status_code
        == 302
    )
    view = assert_page(client.get(f"/notes/{note_id}"))
    assert "Expects to be dropped" in view and "Therapist" in view
    assert_page(client.post(edit, data=base), 409)
    assert_page(
        client.post(f"/notes/{note_id}/addenda", data={"csrf_token": token, "text": ""}), 422
    )
    added = client.post(
        f"/notes/{note_id}/addenda", data={"csrf_token": token, "text": "Also: she cried."}
    )
    assert added.status_code == 302
    assert "Also: she cried." in client.get(f"/notes/{note_id}").get_data(as_text=True)


def test_removing_a_part_by_its_button(client, team):
    sign_in(client, team.author)
    edit = start_note(client, team)
    form = {
        "csrf_token": csrf_of(client),
        "version": "1",
        "enactments.0.summary": "first",
        "enactments.1.summary": "second",
        "action": "remove:enactments:0",
    }
    text = assert_page(client.post(edit, data=form))
    assert "second" in text and ">first<" not in text
    assert 'data-focus="enactments-add"' in text


def test_a_supervisor_reads_without_controls_and_cannot_write(client, team):
    sign_in(client, team.author)
    edit = start_note(client, team)
    note_id = edit.split("/")[2]
    client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    sign_in(client, team.supervisor)
    home = assert_page(client.get("/supervision"))
    assert team.client.last_name in home
    page = assert_page(client.get(f"/clients/{team.client.id}"))
    assert "Read-only" in page and "Start a note" not in page and "/edit" not in page
    note = assert_page(client.get(f"/notes/{note_id}"))
    assert "Edit the draft" not in note and '<form method="post" action="/notes' not in note
    assert_page(client.get(edit), 403)
    assert_page(client.post(edit, data={"csrf_token": csrf_of(client), "version": "1"}), 403)
    assert_page(client.get(f"/clients/{team.client.id}/themes"))


def test_owners_and_schedulers_get_no_clinical_page(client, team):
    sign_in(client, team.author)
    edit = start_note(client, team)
    note_id = edit.split("/")[2]
    client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    for user in (team.owner, team.scheduler):
        sign_in(client, user)
        home = assert_page(client.get("/account"))
        assert 'href="/clients' not in home and 'href="/week' not in home
        for path in (
            "/week",
            "/clients",
            f"/clients/{team.client.id}",
            f"/notes/{note_id}",
            edit,
            f"/clients/{team.client.id}/themes",
        ):
            assert_page(client.get(path), 404)
        client.post("/sign-out", data={"csrf_token": csrf_of(client)})


def test_theme_history_page_and_a_scripts_timeline(client, team):
    script = scripts.create_script(
        team.author, team.client, {"name": "Sets others up to criticise her achievements"}, "focal"
    )
    therapist = ensure_therapist_figure(team.client)
    settle()
    sign_in(client, team.author)
    token = csrf_of(client)
    for day in ("2026-10-05", "2026-10-12"):
        edit = start_note(client, team, day)
        client.post(
            edit,
            data={
                "csrf_token": token,
                "version": "1",
                "action": "save",
                "relationship_episodes.0.figure_id": str(therapist.id),
                "relationship_episodes.0.script_id": str(script.id),
                "relationship_episodes.0.wish": "approval",
            },
        )
        client.post(f"/notes/{edit.split('/')[2]}/sign", data={"csrf_token": token, "version": "2"})
    page = assert_page(client.get(f"/clients/{team.client.id}/themes"))
    assert "Sets others up to criticise her achievements" in page  # the whole name
    assert "therapist" in page and "2026-10-05 to 2026-10-12" in page
    assert re.search(r"Theme history [A-Z]{2} · practice", title(page))
    timeline = assert_page(client.get(f"/clients/{team.client.id}/themes/scripts/{script.id}"))
    assert timeline.count("Open the note") == 2
    window = client.get(f"/clients/{team.client.id}/themes?from=2026-10-10&drafts=1")
    assert "1 session," in assert_page(window)
    assert_page(client.get(f"/clients/{team.client.id}/themes?from=2026-10-10&to=2026-10-01"), 400)
    assert_page(client.get(f"/clients/{team.client.id}/themes?from=yesterday"), 400)


def test_before_the_session(client, team):
    script = scripts.create_script(team.author, team.client, {"name": "Hides the need"}, "working")
    mum = create_figure(
        team.author, team.client, {"label": "Mum", "role": "mother", "period": "current"}
    )
    coming = make_appointment(
        team.client, team.author, starts_at=utcnow().replace(microsecond=0) + timedelta(days=2)
    )
    settle()
    sign_in(client, team.author)
    token = csrf_of(client)
    edit = start_note(client, team, "2026-11-02")
    client.post(
        edit,
        data={
            "csrf_token": token,
            "version": "1",
            "action": "save",
            "narrative.summary": "Talked about the move.",
            "narrative.plan": "Ask about Mum.",
            "relationship_episodes.0.figure_id": str(mum.id),
            "relationship_episodes.0.script_id": str(script.id),
            "ruptures.0.type": "withdrawal",
            "ruptures.0.resolution": "partial",
            "enactments.0.summary": "We both rushed to end early.",
        },
    )
    client.post(f"/notes/{edit.split('/')[2]}/sign", data={"csrf_token": token, "version": "2"})
    page = assert_page(client.get(f"/appointments/{coming.id}"))
    for expected in (
        "Talked about the move.",
        "Ask about Mum.",
        "Hides the need",
        "#1 with mother",
        "withdrawal",
        "partial",
        "We both rushed to end early.",
    ):
        assert expected in page, expected
    assert "Talked" not in title(page)
    assert f"/appointments/{coming.id}" in client.get(
        "/week/" + (utcnow() + timedelta(days=2)).date().isoformat()
    ).get_data(as_text=True)
    client.post("/sign-out", data={"csrf_token": token})
    sign_in(client, team.co_clinician)  # in the client's care, but not their appointment
    assert_page(client.get(f"/appointments/{coming.id}"), 404)


def test_a_new_script_is_named_from_inside_the_note(client, team):
    sign_in(client, team.author)
    edit = start_note(client, team)
    token = csrf_of(client)
    form = {
        "csrf_token": token,
        "version": "1",
        "action": "save",
        "relationship_episodes.0.wish": "to be let in",
        "relationship_episodes.0.new_script": "Knocks, then walks away",
    }
    too_long = client.post(edit, data={**form, "relationship_episodes.0.new_script": "x" * 201})
    assert_page(too_long, 422)
    assert db.session.scalars(scripts.scripts_query(team.client)).all() == []
    assert client.post(edit, data=form).status_code == 302
    made = db.session.scalars(scripts.scripts_query(team.client)).one()
    page = client.get(edit).get_data(as_text=True)
    assert f'<option value="{made.id}" selected>Knocks, then walks away</option>' in page
