"""HTTP: rooms — owners create, rename and deactivate; everyone in the practice lists."""

import uuid

import pytest

from practice.extensions import db
from practice.scheduling.models import Room
from tests.factories import bearer, make_practice, make_user
from tests.helpers import assert_error, count, settle
from tests.scheduling.helpers import make_clinic, make_room, payload

URL = "/api/v1/rooms"


@pytest.fixture
def clinic():
    return make_clinic()


def test_owner_creates_and_everyone_lists(client, clinic):
    response = client.post(URL, json={"name": "  Garden room  "}, headers=bearer(clinic.owner))
    assert response.status_code == 201
    created = response.get_json()
    assert created["name"] == "Garden room" and created["active"] is True
    for user in (clinic.owner, clinic.scheduler, clinic.clinician):
        listed = client.get(URL, headers=bearer(user)).get_json()
        assert [r["name"] for r in listed["items"]] == ["Blue room", "Garden room"]
    item = client.get(f"{URL}/{created['id']}", headers=bearer(clinic.clinician))
    assert item.status_code == 200


def test_only_owners_write(client, clinic):
    before = count(Room)
    for user in (clinic.scheduler, clinic.clinician):
        assert_error(client.post(URL, json={"name": "Attic"}, headers=bearer(user)), 403)
        assert_error(
            client.patch(f"{URL}/{clinic.room.id}", json={"name": "x"}, headers=bearer(user)), 403
        )
    assert_error(client.post(URL, json={"name": "Attic"}), 401)
    assert count(Room) == before


def test_other_practices_rooms_are_404_and_not_listed(client, clinic):
    stranger = make_user(make_practice(), ("owner",))
    foreign_room = make_room(stranger.practice, "Their room")
    settle()
    url = f"{URL}/{foreign_room.id}"
    assert_error(client.get(url, headers=bearer(clinic.owner)), 404)
    assert_error(client.patch(url, json={"name": "Mine now"}, headers=bearer(clinic.owner)), 404)
    assert_error(client.get(f"{URL}/{uuid.uuid4()}", headers=bearer(clinic.owner)), 404)
    assert_error(client.get(f"{URL}/not-a-uuid", headers=bearer(clinic.owner)), 404)
    names = [r["name"] for r in client.get(URL, headers=bearer(clinic.owner)).get_json()["items"]]
    assert "Their room" not in names


def test_duplicate_names_are_409_ignoring_case(client, clinic):
    before = count(Room)
    assert_error(client.post(URL, json={"name": "BLUE ROOM"}, headers=bearer(clinic.owner)), 409)
    other = client.post(URL, json={"name": "Red room"}, headers=bearer(clinic.owner)).get_json()
    assert_error(
        client.patch(
            f"{URL}/{other['id']}", json={"name": "blue room"}, headers=bearer(clinic.owner)
        ),
        409,
    )
    assert count(Room) == before + 1


def test_the_unique_index_decides_duplicates_ignoring_case(client, clinic):
    """No check before the insert: concurrent requests get the same 409 from the unique
    index on lower(name) as a single one does, and nothing is stored."""
    before = count(Room)
    for name in ("blue room", "Blue Room"):
        assert_error(client.post(URL, json={"name": name}, headers=bearer(clinic.owner)), 409)
    assert count(Room) == before


def test_rename_and_deactivate_stops_new_bookings(client, clinic):
    url = f"{URL}/{clinic.room.id}"
    renamed = client.patch(
        url, json={"name": "Blue room (2nd floor)"}, headers=bearer(clinic.owner)
    )
    assert renamed.get_json()["name"] == "Blue room (2nd floor)"
    assert (
        client.patch(url, json={"active": False}, headers=bearer(clinic.owner)).status_code == 200
    )
    listed = client.get(URL, query_string={"active": "true"}, headers=bearer(clinic.owner))
    assert listed.get_json()["total"] == 0
    booking = client.post(
        "/api/v1/appointments",
        json=payload(clinic, room_id=str(clinic.room.id)),
        headers=bearer(clinic.owner),
    )
    assert "room_id" in assert_error(booking, 422)["errors"]["json"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": 7},
        {"name": "Room\n1"},
        {"name": "Quiet", "colour": "blue"},
    ],
)
def test_bad_room_bodies_are_422(client, clinic, body):
    before = count(Room)
    assert_error(client.post(URL, json=body, headers=bearer(clinic.owner)), 422)
    assert count(Room) == before


def test_unicode_and_sql_looking_names_are_just_names(client, clinic):
    for name in ("Raum Üßöñ 🌿", "'; DROP TABLE rooms; --"):
        response = client.post(URL, json={"name": name}, headers=bearer(clinic.owner))
        assert response.status_code == 201 and response.get_json()["name"] == name


def test_bad_patch_bodies_are_422(client, clinic):
    url = f"{URL}/{clinic.room.id}"
    for body in ({"active": "perhaps"}, {"name": ""}, {"id": str(uuid.uuid4())}):
        assert_error(client.patch(url, json=body, headers=bearer(clinic.owner)), 422)
    db.session.refresh(clinic.room)
    assert clinic.room.name == "Blue room" and clinic.room.active
