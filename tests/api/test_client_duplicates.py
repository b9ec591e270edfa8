"""Registering a client who may already be registered: same name and date of birth, or
the same email (any case) or phone (any way of writing it). 409 names the candidates' ids
only; `allow_duplicate: true` registers anyway, audited."""

from datetime import date

import pytest

from practice.clients.models import Client
from practice.extensions import db
from tests.factories import bearer, make_client, make_practice, make_staff
from tests.helpers import assert_error, audit_rows, counts, settle

URL = "/api/v1/clients"

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def clinic():
    practice = make_practice()
    practice.phone_region = "DE"
    staff = make_staff(practice)
    settle()
    return practice, staff


def register(client, user, **fields):
    body = {"first_name": "Ada", "last_name": "Quillfeather", **fields}
    body.setdefault("primary_clinician_id", None)
    if body["primary_clinician_id"] is None:
        body.pop("primary_clinician_id")
    return client.post(URL, json=body, headers=bearer(user))


@pytest.mark.parametrize(
    ("first", "second", "matched"),
    [
        (
            {"date_of_birth": "1990-04-01"},
            {"first_name": "ADA", "last_name": "quillfeather", "date_of_birth": "1990-04-01"},
            ["name_and_date_of_birth"],
        ),
        (
            {"email": "Ada.Q@Example.test"},
            {"first_name": "Other", "email": "ada.q@example.TEST"},
            ["email"],
        ),
        ({"phone": "+49 30 1234567"}, {"first_name": "Other", "phone": "030 1234567"}, ["phone"]),
    ],
)
def test_a_possible_duplicate_answers_409_with_ids_and_can_be_overridden(
    client, clinic, first, second, matched
):
    _practice, staff = clinic
    mine = str(staff["mine"].id)
    created = register(client, staff["scheduler"], primary_clinician_id=mine, **first)
    assert created.status_code == 201, created.get_json()
    existing = created.get_json()["id"]
    before = counts()
    body = assert_error(
        register(client, staff["scheduler"], primary_clinician_id=mine, **second), 409
    )
    assert counts() == before
    assert body["duplicates"] == [{"client_id": existing, "matched": matched}]
    assert "Quillfeather" not in str(body) and "1990" not in str(body)
    again = register(
        client, staff["scheduler"], primary_clinician_id=mine, allow_duplicate=True, **second
    )
    assert again.status_code == 201, again.get_json()
    new_id = again.get_json()["id"]
    assert "allow_duplicate" not in again.get_json()
    assert [r.object_id for r in audit_rows("client.duplicate_override")] == [new_id]


def test_different_people_are_not_duplicates(client, clinic):
    _practice, staff = clinic
    mine = str(staff["mine"].id)
    assert (
        register(
            client, staff["owner"], primary_clinician_id=mine, date_of_birth="1990-04-01"
        ).status_code
        == 201
    )
    # Same name, another birthday; same birthday, another name; no details at all.
    for other in (
        {"date_of_birth": "1991-04-01"},
        {"first_name": "Bea", "date_of_birth": "1990-04-01"},
        {},
    ):
        response = register(client, staff["owner"], primary_clinician_id=mine, **other)
        assert response.status_code == 201, (other, response.get_json())
    assert audit_rows("client.duplicate_override") == []


def test_a_clinician_is_not_told_about_clients_outside_their_care(client, clinic):
    _practice, staff = clinic
    colleague = str(staff["colleague"].id)
    made = register(client, staff["owner"], primary_clinician_id=colleague, email="a@b.example")
    assert made.status_code == 201
    mine = register(client, staff["mine"], email="A@B.example")
    assert mine.status_code == 201, mine.get_json()
    # Their own client is named to them.
    assert_error(register(client, staff["mine"], first_name="Zed", email="a@b.example"), 409)


def test_another_practice_is_never_a_duplicate(client, clinic):
    _practice, staff = clinic
    outsider = staff["outsider"]
    assert register(client, outsider, email="same@example.test").status_code == 201
    response = register(
        client,
        staff["owner"],
        primary_clinician_id=str(staff["mine"].id),
        email="same@example.test",
    )
    assert response.status_code == 201


@pytest.mark.parametrize("flag", ["yes", 1, "true", None])
def test_the_override_is_a_boolean(client, clinic, flag):
    _practice, staff = clinic
    body = assert_error(
        register(
            client, staff["owner"], primary_clinician_id=str(staff["mine"].id), allow_duplicate=flag
        ),
        422,
    )
    assert "allow_duplicate" in body["errors"]["json"]
    assert db.session.query(Client).count() == 0


def test_a_namesake_is_found_among_many_born_the_same_day(client, clinic):
    practice, staff = clinic
    for n in range(250):  # more than the rows the check reads: the database narrows first
        other = make_client(practice, staff["mine"], first_name="Ada", last_name=f"Other{n}")
        other.date_of_birth = date(1990, 4, 1)
    settle()
    mine = str(staff["mine"].id)
    first = register(client, staff["owner"], primary_clinician_id=mine, date_of_birth="1990-04-01")
    assert first.status_code == 201
    body = assert_error(
        register(client, staff["owner"], primary_clinician_id=mine, date_of_birth="1990-04-01"),
        409,
    )
    assert [d["client_id"] for d in body["duplicates"]] == [first.get_json()["id"]]
