"""/api/v1/clients: who sees which client, the record rules, search, and the audit trail."""

import uuid

import pytest

from practice.clients.models import Client
from practice.extensions import db
from tests.factories import bearer, make_client, make_practice, make_staff, make_user
from tests.helpers import assert_error, audit_rows, audit_text, counts, settle

URL = "/api/v1/clients"

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def clinic():
    practice = make_practice()
    staff = make_staff(practice)
    settle()
    return practice, staff


def test_owner_creates_a_full_record(client, clinic):
    _practice, staff = clinic
    payload = {
        "first_name": "  Zephyrine ",
        "last_name": "Canaryquill",
        "preferred_name": "Zee",
        "date_of_birth": "1988-04-02",
        "email": "zee.canary@example.test",
        "phone": "+49 30 901820",
        "primary_clinician_id": str(staff["mine"].id),
        "care_team_ids": [str(staff["colleague"].id), str(staff["colleague"].id)],
        "intake_date": "2026-01-12",
    }
    response = client.post(URL, json=payload, headers=bearer(staff["owner"]))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["first_name"] == "Zephyrine"
    assert body["phone"] == "+4930901820"
    assert body["status"] == "active"
    assert body["discharge_date"] is None
    assert body["care_team_ids"] == [str(staff["colleague"].id)]
    created = audit_rows("client.create")
    assert [row.object_id for row in created] == [body["id"]]
    text = audit_text()
    for secret in ("Canaryquill", "Zephyrine", "zee.canary", "4930901820"):
        assert secret not in text


def test_clinician_creates_only_for_themself(client, clinic):
    _practice, staff = clinic
    response = client.post(
        URL, json={"first_name": "Ada", "last_name": "Ownly"}, headers=bearer(staff["mine"])
    )
    assert response.status_code == 201
    assert response.get_json()["primary_clinician_id"] == str(staff["mine"].id)
    before = counts()
    refused = client.post(
        URL,
        json={
            "first_name": "Ada",
            "last_name": "Elsewise",
            "primary_clinician_id": str(staff["colleague"].id),
        },
        headers=bearer(staff["mine"]),
    )
    assert_error(refused, 403)
    assert counts() == before


def test_front_desk_must_name_a_primary_clinician(client, clinic):
    _practice, staff = clinic
    body = assert_error(
        client.post(
            URL, json={"first_name": "A", "last_name": "B"}, headers=bearer(staff["scheduler"])
        ),
        422,
    )
    assert "primary_clinician_id" in body["errors"]["json"]


@pytest.mark.parametrize("who", ["supervisor"])
def test_roles_without_client_access_cannot_list_or_create(client, clinic, who):
    _practice, staff = clinic
    make_client(staff["outsider"].practice, staff["outsider"])
    settle()
    assert_error(client.get(URL, headers=bearer(staff[who])), 403)
    payload = {"first_name": "A", "last_name": "B", "primary_clinician_id": str(staff["mine"].id)}
    assert_error(client.post(URL, json=payload, headers=bearer(staff[who])), 403)


def test_anonymous_gets_401(client, clinic):
    practice, staff = clinic
    record = make_client(practice, staff["mine"])
    settle()
    assert_error(client.get(URL), 401)
    assert_error(client.get(f"{URL}/{record.id}"), 401)
    assert_error(client.patch(f"{URL}/{record.id}", json={"status": "inactive"}), 401)
    assert_error(client.get(f"{URL}/{record.id}/export"), 401)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("owner", True),
        ("scheduler", True),
        ("mine", True),
        ("colleague", True),  # care team
        ("supervisor", False),
        ("outsider", False),
    ],
)
def test_item_visibility(client, clinic, who, sees):
    practice, staff = clinic
    record = make_client(practice, staff["mine"], care_team=[staff["colleague"]])
    unrelated = make_client(practice, make_user(practice))
    settle()
    response = client.get(f"{URL}/{record.id}", headers=bearer(staff[who]))
    if sees:
        assert response.status_code == 200
        assert response.get_json()["care_team_ids"] == [str(staff["colleague"].id)]
        assert [r.object_id for r in audit_rows("client.read")] == [str(record.id)]
    else:
        assert_error(response, 404)
        assert audit_rows("access.denied")[-1].object_id == str(record.id)
    if who in ("mine", "colleague"):
        assert_error(client.get(f"{URL}/{unrelated.id}", headers=bearer(staff[who])), 404)


def test_other_practice_and_unknown_ids_answer_alike(client, clinic):
    practice, staff = clinic
    record = make_client(practice, staff["mine"])
    settle()
    foreign = assert_error(client.get(f"{URL}/{record.id}", headers=bearer(staff["outsider"])), 404)
    missing = assert_error(client.get(f"{URL}/{uuid.uuid4()}", headers=bearer(staff["owner"])), 404)
    assert foreign == missing
    before = counts()
    patched = client.patch(
        f"{URL}/{record.id}", json={"last_name": "Hijack"}, headers=bearer(staff["outsider"])
    )
    assert_error(patched, 404)
    assert counts() == before
    assert db.session.get(Client, record.id).last_name != "Hijack"


def test_list_is_sorted_paginated_and_scoped(client, clinic):
    practice, staff = clinic
    names = [("Bea", "Zorn"), ("Abe", "Maple"), ("Cy", "Maple"), ("Abe", "Alder")]
    made = [make_client(practice, staff["mine"], first_name=f, last_name=n) for f, n in names]
    make_client(practice, staff["colleague"], last_name="Hidden")
    make_client(staff["outsider"].practice, staff["outsider"], last_name="Foreign")
    settle()
    page = client.get(f"{URL}?page_size=2", headers=bearer(staff["mine"])).get_json()
    assert page["total"] == 4 and page["page"] == 1 and page["page_size"] == 2
    assert [i["last_name"] for i in page["items"]] == ["Alder", "Maple"]
    second = client.get(f"{URL}?page=2&page_size=2", headers=bearer(staff["mine"])).get_json()
    assert [(i["first_name"], i["last_name"]) for i in second["items"]] == [
        ("Cy", "Maple"),
        ("Bea", "Zorn"),
    ]
    listed = {row.object_id for row in audit_rows("client.list")}
    assert listed == {str(c.id) for c in made}
    everyone = client.get(URL, headers=bearer(staff["scheduler"])).get_json()
    assert everyone["total"] == 5


def test_filters(client, clinic):
    practice, staff = clinic
    first = make_client(practice, staff["mine"], first_name="Ömer", last_name="Özdemir")
    shared = make_client(practice, staff["colleague"], care_team=[staff["mine"]])
    gone = make_client(practice, staff["colleague"], last_name="Percent%Sign", status="inactive")
    settle()
    headers = bearer(staff["owner"])

    def ids(query):
        response = client.get(URL, query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        return {item["id"] for item in response.get_json()["items"]}

    assert ids({"q": ""}) == ids({}) == {str(first.id), str(shared.id), str(gone.id)}
    assert ids({"q": "öZDE"}) == {str(first.id)}
    assert ids({"q": "  ömer   özd  "}) == {str(first.id)}
    assert ids({"q": "%"}) == {str(gone.id)}
    assert ids({"q": "_"}) == set()
    assert ids({"q": "' OR 1=1 --"}) == set()
    assert ids({"status": "inactive"}) == {str(gone.id)}
    assert ids({"clinician_id": str(staff["mine"].id)}) == {str(first.id), str(shared.id)}
    assert ids({"clinician_id": str(uuid.uuid4())}) == set()


@pytest.mark.parametrize(
    "query",
    [
        {"status": "deleted"},
        {"clinician_id": "not-a-uuid"},
        {"page_size": "1000"},
        {"page": "zero"},
        {"q": "x" * 101},
        {"q": "nul\x00byte"},
        {"colour": "blue"},
    ],
)
def test_bad_list_queries_are_422(client, clinic, query):
    _practice, staff = clinic
    assert_error(client.get(URL, query_string=query, headers=bearer(staff["owner"])), 422)


def test_delete_is_not_allowed(client, clinic):
    practice, staff = clinic
    record = make_client(practice, staff["mine"])
    settle()
    assert_error(client.delete(f"{URL}/{record.id}", headers=bearer(staff["owner"])), 405)
    assert db.session.get(Client, record.id) is not None
