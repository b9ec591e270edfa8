"""The front desk's client pages (owners and schedulers): the register, registering with
the possible-duplicate warning and its override, editing a record with bad input kept
beside its field, the owner's export; nobody else gets in, and nothing clinical shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from practice.audit.models import AuditEntry
from practice.clients.models import Client
from practice.database import utcnow
from practice.extensions import db
from tests.factories import make_appointment
from tests.helpers import assert_page, csrf_of, settle, sign_in


def register_form(token, team, **extra):
    form = {
        "csrf_token": token,
        "first_name": "Wilma",
        "last_name": "Brightwater",
        "date_of_birth": "1984-03-02",
        "email": "",
        "phone": "",
        "status": "active",
        "intake_date": "",
        "discharge_date": "",
        "primary_clinician_id": str(team.author.id),
    }
    form.update(extra)
    return form


def actions(name: str) -> list[AuditEntry]:
    return db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == name)).all()


@pytest.mark.parametrize("who", ["owner", "scheduler"])
def test_the_front_desk_lists_and_finds_every_client(client, team, who):
    sign_in(client, getattr(team, who))
    text = assert_page(client.get("/desk/clients"))
    assert team.client.last_name in text and team.other_client.last_name in text
    assert team.foreign_client.last_name not in text
    found = assert_page(client.get(f"/desk/clients?q={team.client.last_name}"))
    assert team.other_client.last_name not in found
    assert_page(client.get("/desk/clients?status=nonsense"), 400)
    assert_page(client.get("/desk/clients?q=" + "x" * 101), 400)
    assert 'href="/desk/clients"' in text  # the nav link


def test_a_possible_duplicate_is_shown_and_can_be_overridden(client, team):
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    first = client.post("/desk/clients/new", data=register_form(token, team))
    assert first.status_code == 302
    assert "done=registered" in first.headers["Location"]
    assert_page(client.get(first.headers["Location"]))
    again = register_form(token, team, first_name="WILMA", email="w@example.test")
    warned = assert_page(client.post("/desk/clients/new", data=again), 409)
    assert "This may be a client who is already registered" in warned
    assert "same name and date of birth" in warned
    assert 'value="w@example.test"' in warned  # the form is kept
    assert 'name="allow_duplicate"' in warned
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Client).where(Client.last_name == "Brightwater")
        )
        == 1
    )
    forced = client.post("/desk/clients/new", data={**again, "allow_duplicate": "yes"})
    assert forced.status_code == 302
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Client).where(Client.last_name == "Brightwater")
        )
        == 2
    )
    assert len(actions("client.duplicate_override")) == 1


def test_bad_input_is_refused_beside_its_field_and_the_rest_is_kept(client, team):
    sign_in(client, team.owner)
    token = csrf_of(client)
    bad = register_form(token, team, email="not-an-email")
    text = assert_page(client.post("/desk/clients/new", data=bad), 422)
    assert 'id="err-email"' in text and 'value="not-an-email"' in text
    assert 'value="Brightwater"' in text and 'value="1984-03-02"' in text
    future = register_form(token, team, date_of_birth="2999-01-01")
    text = assert_page(client.post("/desk/clients/new", data=future), 422)
    assert 'id="err-date_of_birth"' in text and "cannot be in the future" in text
    garbled = register_form(token, team, date_of_birth="tomorrow", care_team_ids=["nope"])
    text = assert_page(client.post("/desk/clients/new", data=garbled), 422)
    assert 'id="err-date_of_birth"' in text and 'id="err-care_team_ids"' in text
    phone = register_form(token, team, phone="12")
    text = assert_page(client.post("/desk/clients/new", data=phone), 422)
    assert 'id="err-phone"' in text and 'aria-invalid="true"' in text
    nobody = register_form(token, team, primary_clinician_id=str(team.stranger.id))
    text = assert_page(client.post("/desk/clients/new", data=nobody), 422)
    assert 'id="err-primary_clinician_id"' in text
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Client).where(Client.last_name == "Brightwater")
        )
        == 0
    )


def test_editing_a_record_status_dates_and_care_team(client, team):
    sign_in(client, team.scheduler)
    token = csrf_of(client)
    url = f"/desk/clients/{team.client.id}"
    page = assert_page(client.get(url))
    assert "Process notes" not in page and "Theme history" not in page
    assert "Download the record export" not in page  # schedulers do not export
    booking = f'href="/bookings/new?client_id={team.client.id}"'
    assert booking in page  # the next thing the desk does: book them
    chosen = assert_page(client.get(f"/bookings/new?client_id={team.client.id}"))
    assert f'value="{team.client.id}" checked' in chosen
    assert "None booked." in page
    # Their next appointments, with any clinician, each linking to its page; past and
    # other clients' ones are not listed.
    soon = make_appointment(team.client, team.co_clinician, starts_at=utcnow() + timedelta(days=3))
    make_appointment(team.client, team.author, starts_at=utcnow() - timedelta(days=3))
    make_appointment(team.other_client, team.author, starts_at=utcnow() + timedelta(days=4))
    settle()
    page = assert_page(client.get(url))
    listed = page.count('href="/bookings/') - page.count('href="/bookings/new')
    assert listed == 1  # the one coming
    assert f'href="/bookings/{soon.id}"' in page and team.co_clinician.name in page
    form = register_form(
        token,
        team,
        first_name=team.client.first_name,
        last_name=team.client.last_name,
        date_of_birth="",
        status="discharged",
        intake_date="2026-01-05",
        discharge_date="2025-12-01",
        care_team_ids=[str(team.co_clinician.id), str(team.colleague.id)],
    )
    text = assert_page(client.post(url, data=form), 422)
    assert 'id="err-discharge_date"' in text and 'value="2025-12-01"' in text
    form["discharge_date"] = "2026-02-01"
    saved = client.post(url, data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-800:]
    settle()
    record = db.session.get(Client, team.client.id)
    assert record.status == "discharged" and str(record.discharge_date) == "2026-02-01"
    assert record.care_team_ids == {team.co_clinician.id, team.colleague.id}
    saved_page = assert_page(client.get(saved.headers["Location"]))
    assert "Saved." in saved_page and booking not in saved_page  # discharged: nothing to book


def test_the_owner_downloads_the_export_and_the_scheduler_cannot(client, team):
    sign_in(client, team.owner)
    page = assert_page(client.get(f"/desk/clients/{team.client.id}"))
    assert "Download the record export" in page
    with client.get(f"/desk/clients/{team.client.id}/export") as response:
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.headers["Cache-Control"] == "no-store"
        body = json.loads(response.get_data(as_text=True))
    assert body["client"]["id"] == str(team.client.id)
    client.post("/sign-out", data={"csrf_token": csrf_of(client)})
    sign_in(client, team.scheduler)
    assert_page(client.get(f"/desk/clients/{team.client.id}/export"), 403)


@pytest.mark.parametrize("who", ["author", "supervisor", "stranger"])
def test_no_one_else_gets_in(client, team, who):
    sign_in(client, getattr(team, who))
    text = assert_page(client.get("/desk/clients"), 404 if who != "stranger" else 200)
    if who == "stranger":  # an owner of another practice sees their own register only
        assert team.client.last_name not in text
        assert_page(client.get(f"/desk/clients/{team.client.id}"), 404)
    else:
        assert 'href="/desk/clients"' not in text
        assert_page(client.get(f"/desk/clients/{team.client.id}"), 404)
        assert_page(client.get("/desk/clients/new"), 404)


def test_forms_need_the_csrf_token(client, team):
    sign_in(client, team.owner)
    form = register_form("", team)
    assert_page(client.post("/desk/clients/new", data=form), 403)
    assert_page(client.post(f"/desk/clients/{team.client.id}", data=form), 403)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Client).where(Client.last_name == "Brightwater")
        )
        == 0
    )
