"""The client list builds its items without marshmallow (issue 15: the dump cost as
much as the query); each item must stay exactly what ClientSchema dumps, care team
included, for every reader."""

from __future__ import annotations

import uuid
from datetime import date

from practice.api.clients import ClientSchema
from practice.clients.models import Client
from practice.extensions import db
from tests.factories import bearer, make_client, make_practice, make_user
from tests.helpers import settle


def test_listed_items_are_what_the_schema_dumps(client):
    practice = make_practice()
    owner = make_user(practice, ("owner",))
    clinician, colleague, third = (make_user(practice, ("clinician",)) for _ in range(3))
    full = make_client(practice, clinician, care_team=(colleague, third), last_name="Abbott")
    full.preferred_name, full.date_of_birth = "Bea", date(1980, 2, 29)
    full.email, full.phone = "bea@example.org", "+4930123456"
    full.status, full.discharge_date = "discharged", date(2026, 3, 1)
    make_client(practice, colleague, care_team=(clinician,), last_name="Brook")
    make_client(practice, clinician, last_name="Carver")
    make_client(practice, third, last_name="Dunn")  # not the clinician's
    settle()
    for reader, count in ((clinician, 3), (colleague, 2), (owner, 4)):
        listed = client.get("/api/v1/clients", headers=bearer(reader))
        assert listed.status_code == 200
        body = listed.get_json()
        assert (body["page"], body["page_size"], body["total"]) == (1, 50, count)
        db.session.expire_all()
        expected = [
            ClientSchema().dump(db.session.get(Client, uuid.UUID(item["id"])))
            for item in body["items"]
        ]
        assert body["items"] == expected and len(expected) == count
    assert sorted(body["items"][0]["care_team_ids"]) == body["items"][0]["care_team_ids"]
    assert len(body["items"][0]["care_team_ids"]) == 2
