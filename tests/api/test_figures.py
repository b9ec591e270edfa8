"""Figures over HTTP: the built-in therapist figure, access, validation, encryption."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from practice.notes.models import Figure
from tests.helpers import CANARY, assert_error, audit_rows, auth, count


def url(team, client=None) -> str:
    return f"/api/v1/clients/{(client or team.client).id}/figures"


def add(client, team, **body):
    body = {"label": "Sam", "role": "partner", **body}
    response = client.post(url(team), json=body, headers=auth(team.author))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def test_list_creates_one_therapist_figure_idempotently(client, db, team):
    first = client.get(url(team), headers=auth(team.author)).get_json()
    second = client.get(url(team), headers=auth(team.author)).get_json()
    assert first["total"] == second["total"] == 1
    [therapist] = first["items"]
    assert therapist["is_therapist"] and therapist["role"] == "therapist"
    assert therapist["label"] == "Therapist" and therapist["period"] == "current"
    assert therapist["id"] == second["items"][0]["id"]
    assert audit_rows(action="figure.list", object_id=team.client.id)


def test_create_and_patch_a_figure_encrypted(client, db, team):
    figure = add(client, team, label=CANARY, period="past")
    assert figure["label"] == CANARY and figure["period"] == "past"
    assert not figure["is_therapist"]
    stored = db.session.get(Figure, uuid.UUID(figure["id"]))
    assert CANARY.encode() not in stored.payload
    response = client.patch(
        f"{url(team)}/{figure['id']}", json={"period": "deceased"}, headers=auth(team.author)
    )
    assert response.status_code == 200
    assert response.get_json()["period"] == "deceased"
    assert response.get_json()["label"] == CANARY
    listed = client.get(url(team), headers=auth(team.author)).get_json()["items"]
    assert [f["is_therapist"] for f in listed] == [True, False]
    assert audit_rows(action="figure.create", object_id=figure["id"])
    assert audit_rows(action="figure.update", object_id=figure["id"])


def test_therapist_role_is_reserved_for_the_built_in_figure(client, db, team):
    body = {"label": "Dr Former", "role": "therapist"}
    errors = assert_error(client.post(url(team), json=body, headers=auth(team.author)), 422)
    assert "role" in errors["errors"]["json"]
    therapist = client.get(url(team), headers=auth(team.author)).get_json()["items"][0]
    response = client.patch(
        f"{url(team)}/{therapist['id']}", json={"role": "mother"}, headers=auth(team.author)
    )
    assert "role" in assert_error(response, 422)["errors"]["json"]
    renamed = client.patch(
        f"{url(team)}/{therapist['id']}", json={"label": "Me"}, headers=auth(team.author)
    )
    assert renamed.get_json()["label"] == "Me" and renamed.get_json()["role"] == "therapist"
    assert count(Figure) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"label": "Sam"},
        {"label": "", "role": "partner"},
        {"label": "x" * 101, "role": "partner"},
        {"label": "Sam", "role": "neighbour"},
        {"label": "Sam", "role": "partner", "period": "future"},
        {"label": 5, "role": "partner"},
        {"label": "Sam", "role": "partner", "is_therapist": True},
        {"label": "Sam", "role": ["partner"]},
        {"label": "'; DELETE FROM figures; --", "role": "partner; DROP"},
    ],
)
def test_bad_figure_bodies_are_422_and_store_nothing(client, db, team, body):
    assert_error(client.post(url(team), json=body, headers=auth(team.author)), 422)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Figure).where(Figure.is_therapist.is_(False))
        )
        == 0
    )


def test_bad_patches(client, db, team):
    figure = add(client, team)
    item = f"{url(team)}/{figure['id']}"
    for body in ({"role": "x"}, {"label": ""}, {"colour": "red"}, {"period": None}):
        assert_error(client.patch(item, json=body, headers=auth(team.author)), 422)
    assert_error(client.patch(f"{url(team)}/not-a-uuid", json={}, headers=auth(team.author)), 404)
    other = f"{url(team, team.other_client)}/{figure['id']}"
    assert_error(client.patch(other, json={"label": "x"}, headers=auth(team.author)), 404)
    got = client.get(url(team), headers=auth(team.author)).get_json()["items"][1]
    assert got["label"] == "Sam"


def test_unicode_label_round_trips(client, team):
    assert add(client, team, label="Großmütterchen 祖母 🌿")["label"] == "Großmütterchen 祖母 🌿"


@pytest.mark.parametrize("who", ["owner", "scheduler", "colleague", "stranger"])
def test_outsiders_get_404_and_no_words(client, db, team, who):
    figure = add(client, team, label=CANARY)
    user = getattr(team, who)
    for response in (
        client.get(url(team), headers=auth(user)),
        client.post(url(team), json={"label": "a", "role": "friend"}, headers=auth(user)),
        client.patch(f"{url(team)}/{figure['id']}", json={"label": "b"}, headers=auth(user)),
    ):
        assert_error(response, 404)
        assert CANARY not in response.get_data(as_text=True)
    assert audit_rows(action="access.denied", actor_id=user.id)


def test_co_clinician_works_and_supervisor_reads_only(client, db, team):
    add(client, team)
    assert client.get(url(team), headers=auth(team.co_clinician)).get_json()["total"] == 2
    add_by_co = client.post(
        url(team), json={"label": "Kim", "role": "friend"}, headers=auth(team.co_clinician)
    )
    assert add_by_co.status_code == 201
    assert client.get(url(team), headers=auth(team.supervisor)).get_json()["total"] == 3
    body = {"label": "x", "role": "friend"}
    assert_error(client.post(url(team), json=body, headers=auth(team.supervisor)), 403)


def test_other_practice_client_is_404(client, db, team):
    foreign = url(team, team.foreign_client)
    assert_error(client.get(foreign, headers=auth(team.author)), 404)
    assert_error(
        client.get(f"/api/v1/clients/{uuid.uuid4()}/figures", headers=auth(team.author)), 404
    )


def test_a_supervisors_read_writes_nothing(client, db, team):
    """The therapist figure is made on the clinicians' first need, never by a read-only
    supervisor: their list shows what exists."""
    count = sa.select(sa.func.count()).select_from(Figure).where(Figure.client_id == team.client.id)
    assert db.session.scalar(count) == 0  # a new client: nobody has needed one yet
    listing = client.get(url(team), headers=auth(team.supervisor))
    assert listing.status_code == 200 and listing.get_json()["total"] == 0
    assert db.session.scalar(count) == 0
    mine = client.get(url(team), headers=auth(team.author)).get_json()
    assert [f["is_therapist"] for f in mine["items"]] == [True]
    assert client.get(url(team), headers=auth(team.supervisor)).get_json()["total"] == 1
