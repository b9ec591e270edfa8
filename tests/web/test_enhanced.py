"""What the pages do with JavaScript on (htmx marks in the week, the editor's autosave)
answered by the server, the practice's CCRT tags in the editor, the supervisor's client
page, and every error status as a page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import abort

from practice.database import utcnow
from practice.extensions import db
from practice.notes import scripts
from practice.notes.figures import ensure_therapist_figure
from practice.notes.models import ProcessNote, Script
from practice.scheduling.models import Appointment
from tests.factories import make_appointment
from tests.helpers import assert_page, csrf_of, settle, sign_in, start_note


def test_marking_from_the_week_by_htmx_answers_the_card_alone(client, team):
    past = make_appointment(
        team.client, team.author, starts_at=utcnow().replace(microsecond=0) - timedelta(hours=1)
    )
    settle()
    sign_in(client, team.author)
    week = assert_page(client.get("/week"))
    assert f'hx-post="/appointments/{past.id}/status"' in week
    assert f'hx-target="#a-{past.id}"' in week
    token = csrf_of(client)
    marked = client.post(
        f"/appointments/{past.id}/status",
        data={"csrf_token": token, "status": "no_show"},
        headers={"HX-Request": "true"},
    )
    card = marked.get_data(as_text=True)
    assert marked.status_code == 200 and marked.headers["Cache-Control"] == "no-store"
    assert "<html" not in card
    assert f'id="a-{past.id}"' in card and "status-no_show" in card
    assert 'role="status"> — marked no show' in card
    assert ">Attended<" in card and ">No-show<" not in card  # the other mark stays offered
    assert db.session.get(Appointment, past.id).status == "no_show"
    # Refused the same way with or without htmx: an error page (app.js shows its words).
    again = client.post(
        f"/appointments/{past.id}/status",
        data={"csrf_token": token, "status": "cancelled"},
        headers={"HX-Request": "true"},
    )
    assert_page(again, 400)


def _autosave(client, edit, token, **fields):
    return client.post(edit.replace("/edit", "/autosave"), data={"csrf_token": token, **fields})


def test_autosave_saves_with_the_version_and_never_overwrites_a_newer_save(client, team):
    sign_in(client, team.author)
    edit = start_note(client, team)
    note_id = uuid.UUID(edit.split("/")[2])
    page = assert_page(client.get(edit))
    assert f'data-autosave="/notes/{note_id}/autosave"' in page and 'id="autosave"' in page
    token = csrf_of(client)
    saved = _autosave(client, edit, token, version="1", **{"narrative.summary": "Half a thought"})
    text = saved.text
    assert saved.status_code == 200 and saved.headers["Cache-Control"] == "no-store"
    assert 'data-version="2"' in text
    assert "Saved automatically at" in text and "Half a thought" not in text
    assert db.session.get(ProcessNote, note_id).version == 2
    # The form's old version: a newer save exists; nothing is overwritten.
    stale = _autosave(client, edit, token, version="1", **{"narrative.summary": "Older tab"})
    assert stale.status_code == 409 and "saved elsewhere" in stale.text
    assert "Half a thought" in client.get(edit).text and "Older tab" not in client.get(edit).text
    # Bad input: nothing saved, the page's "Save draft" shows where.
    bad = _autosave(
        client,
        edit,
        token,
        version="2",
        **{"transference.intensity": "9", "narrative.summary": "x"},
    )
    assert bad.status_code == 422 and "Save draft" in bad.text
    assert db.session.get(ProcessNote, note_id).version == 2
    # A new script's name waits for "Save draft": autosave creates none.
    named = _autosave(
        client,
        edit,
        token,
        version="2",
        **{
            "relationship_episodes.0.wish": "to be seen",
            "relationship_episodes.0.new_script": "Hides so as not to be left",
        },
    )
    assert named.status_code == 200 and 'data-version="3"' in named.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Script)) == 0


def test_autosave_refuses_signed_notes_supervisors_and_ended_sessions(app, client, team):
    sign_in(client, team.author)
    edit = start_note(client, team)
    note_id = edit.split("/")[2]
    token = csrf_of(client)
    signed = client.post(f"/notes/{note_id}/sign", data={"csrf_token": token, "version": "1"})
    assert signed.status_code == 302
    late = _autosave(client, edit, token, version="2", **{"narrative.summary": "After"})
    assert late.status_code == 409 and "signed" in late.text
    assert _autosave(client, edit, "forged", version="2").status_code == 403
    client.post("/sign-out", data={"csrf_token": token})
    out = _autosave(client, edit, token, version="2", **{"narrative.summary": "Kept"})
    assert "You were signed out" in assert_page(out, 401) and "Kept" in out.text
    sign_in(client, team.supervisor)
    refused = _autosave(client, edit, csrf_of(client), version="2")
    assert_page(refused, 403)


@pytest.fixture
def ccrt_tags(app):
    tags = {
        "wish": ["to be close", "to be respected"],
        "response_of_other": ["rejecting", "controlling"],
        "response_of_self": ["withdrawn", "angry"],
    }
    before = app.extensions.get("ccrt_tags")
    app.extensions["ccrt_tags"] = tags
    yield tags
    if before is None:
        app.extensions.pop("ccrt_tags", None)
    else:
        app.extensions["ccrt_tags"] = before


def test_the_editor_offers_the_practices_ccrt_tags_beside_the_quick_picks(client, team, ccrt_tags):
    therapist = ensure_therapist_figure(team.client)
    script = scripts.create_script(
        team.author, team.client, {"name": "Leaves before being left"}, "working"
    )
    settle()
    sign_in(client, team.author)
    edit = start_note(client, team)
    token = csrf_of(client)
    form = {
        "relationship_episodes.0.script_id": str(script.id),
        "csrf_token": token,
        "version": "1",
        "action": "save",
        "relationship_episodes.0.figure_id": str(therapist.id),
        "relationship_episodes.0.wish": "that I would stay",
        "relationship_episodes.0.wish_tag": "to be close",
        "relationship_episodes.0.response_of_other": "looked at the clock",
        "relationship_episodes.0.ro_tag": "rejecting",
        "relationship_episodes.0.ro_valence": "negative",
        "relationship_episodes.0.rs_tag": "withdrawn",
        "relationship_episodes.0.rs_valence": "negative",
    }
    assert client.post(edit, data=form).status_code == 302
    page = assert_page(client.get(edit))
    for kind, name in (
        ("wish", "wish_tag"),
        ("response_of_other", "ro_tag"),
        ("response_of_self", "rs_tag"),
    ):
        select = re.search(
            rf'<select id="f-relationship_episodes-0-{name}"[^>]*>(.*?)</select>', page, re.S
        )
        assert select, name
        offered = re.findall(r'<option value="([^"]*)"', select.group(1))
        assert offered == ["", *ccrt_tags[kind]], (name, offered)
    assert re.search(r'<option value="to be close" selected>', page)
    assert re.search(r'<option value="rejecting" selected>', page)
    # The quick-pick valences stay beside the tags.
    assert 'id="f-relationship_episodes-0-ro_valence"' in page
    # A tag the practice does not have is refused beside its field; the rest stays.
    wrong = client.post(
        edit,
        data={**form, "version": "2", "relationship_episodes.0.wish_tag": "to be invented"},
    )
    text = assert_page(wrong, 422)
    assert 'aria-describedby="err-relationship_episodes-0-wish_tag"' in text
    assert "looked at the clock" in text
    note_id = edit.split("/")[2]
    shown = assert_page(client.get(f"/notes/{note_id}"))
    assert "to be close" in shown and "rejecting" in shown and "withdrawn" in shown
    assert "Episode 1 — with Therapist" in shown  # the figure named, not its id
    assert "Leaves before being left" in shown and str(script.id) not in shown


def test_without_ccrt_tags_no_tag_list_is_drawn(client, team):
    sign_in(client, team.author)
    edit = start_note(client, team)
    added = client.post(
        edit,
        data={"csrf_token": csrf_of(client), "version": "1", "action": "add:relationship_episodes"},
    )
    text = assert_page(added)
    assert "relationship_episodes.0.wish" in text and "wish_tag" not in text


def test_a_supervisors_client_page_leaves_out_the_demographics(client, team):
    sign_in(client, team.supervisor)
    page = assert_page(client.get(f"/clients/{team.client.id}"))
    assert "Contact details and date of birth are not shown" in page
    if team.client.email:
        assert team.client.email not in page
    if team.client.phone:
        assert team.client.phone not in page
    assert "Date of birth</dt>" not in page
    client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    sign_in(client, team.author)
    own = assert_page(client.get(f"/clients/{team.client.id}"))
    assert "Date of birth</dt>" in own


ERRORS = {
    400: lambda: abort(400),
    403: lambda: abort(403),
    404: lambda: abort(404),
    409: lambda: abort(409),
    410: lambda: abort(410),
    412: lambda: abort(412),
    429: lambda: abort(429),
    500: lambda: 1 / 0,
    503: lambda: (_ for _ in ()).throw(OperationalError("SELECT 1", {}, Exception("gone"))),
}


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_every_error_status_on_a_page_is_a_page_in_the_layout(app, client, team, code, monkeypatch):
    sign_in(client, team.author)
    monkeypatch.setitem(app.view_functions, "web_clients.clients", lambda: ERRORS[code]())
    answer = client.get("/clients")
    text = assert_page(answer, code)
    assert '<nav aria-label="Main">' in text and f"Error {code}" in text
    assert "Traceback" not in text and "ZeroDivision" not in text and "SELECT" not in text
    assert "{" not in re.sub(r"<[^>]+>", "", text.split("<main", 1)[1])  # no JSON
