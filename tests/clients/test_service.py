"""Client rules without HTTP: phone numbers, dates, search, visibility and the loader."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from practice.audit.service import PENDING
from practice.clients import service
from practice.clients.models import Client
from practice.errors import NotFound
from practice.extensions import db
from practice.http import domain_status
from tests.factories import make_client, make_practice, make_user


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+49 30 901820", None, "+4930901820"),
        ("+49 (0)30 901820", None, "+4930901820"),
        ("+1 650-253-0000", "DE", "+16502530000"),
        ("030 901820", "DE", "+4930901820"),
        ("0049 30 901820", "DE", "+4930901820"),
        ("020 7946 0018", "gb", "+442079460018"),
    ],
)
def test_phone_numbers_become_e164(raw, region, expected):
    assert service.normalise_phone(raw, region.upper() if region else None) == expected


@pytest.mark.parametrize(
    ("raw", "region", "fragment"),
    [
        ("030 901820", None, "country code"),
        ("0049 30 901820", None, "country code"),
        ("+1 000 000 0000", None, "not a valid"),
        ("call me maybe", "DE", "not a phone number"),
        ("+49 30 901820 ext. 12", None, "Extensions"),
        ("+999 123456", None, "country code"),
    ],
)
def test_bad_phone_numbers_are_refused_with_a_reason(raw, region, fragment):
    with pytest.raises(service.ClientError) as caught:
        service.normalise_phone(raw, region)
    assert fragment in caught.value.errors["phone"][0]


def test_name_search_follows_every_name_change():
    practice = make_practice()
    clinician = make_user(practice)
    client = make_client(practice, clinician, first_name="Ömer", last_name="STRAßE")
    assert client.name_search == "ömer strasse"
    client.preferred_name = "Öm"
    client.last_name = "Quill"
    db.session.flush()
    stored = db.session.scalar(sa.select(Client.name_search).where(Client.id == client.id))
    assert stored == "ömer quill öm"


def test_search_treats_like_wildcards_as_text():
    practice = make_practice()
    owner = make_user(practice, ["owner"])
    literal = make_client(practice, owner, last_name="Per%cent_Under")
    make_client(practice, owner, last_name="Perxcentyunder")
    for q in ("%", "_", "per%cent_", "\\"):
        found = db.session.scalars(service.search_clients(owner, q=q)).all()
        assert {c.id for c in found} <= {literal.id}, q
    assert db.session.scalars(service.search_clients(owner, q="%")).all() == [literal]


def test_visible_clients_by_role():
    practice = make_practice()
    mine = make_user(practice, ["clinician"])
    colleague = make_user(practice, ["clinician"])
    supervisor = make_user(practice, ["supervisor"])
    scheduler = make_user(practice, ["scheduler"])
    primary = make_client(practice, mine)
    shared = make_client(practice, colleague, care_team=[mine])
    theirs = make_client(practice, colleague)
    elsewhere = make_client(make_practice("Elsewhere"), make_user(make_practice("Other")))

    def visible(user):
        return set(db.session.scalars(service.visible_clients(user)))

    assert visible(mine) == {primary, shared}
    assert visible(colleague) == {shared, theirs}
    assert visible(supervisor) == set()
    assert visible(scheduler) == {primary, shared, theirs}
    assert elsewhere not in visible(scheduler)


def test_loader_denies_with_404_and_audits(app):
    practice = make_practice()
    clinician = make_user(practice)
    other = make_user(practice)
    client = make_client(practice, clinician)
    assert service.get_client_for(clinician, client.id) is client
    with pytest.raises(NotFound) as caught:  # the domain's error: no request needed
        service.get_client_for(other, client.id)
    assert domain_status(caught.value) == 404 and caught.value.message == "No such client."
    events = db.session.info[PENDING]
    assert events[-1].action == "access.denied"
    assert events[-1].object_id == str(client.id)


def test_discharge_defaults_to_today_and_readmission_clears_it(app):
    practice = make_practice()
    clinician = make_user(practice)
    client = make_client(practice, clinician)
    with app.test_request_context():
        service.update_client(clinician, client, {"status": "discharged"})
        assert client.discharge_date == service.practice_today(clinician)
        service.update_client(clinician, client, {"status": "active"})
        assert client.discharge_date is None


def test_date_rules_report_every_field(app):
    practice = make_practice()
    owner = make_user(practice, ["owner", "clinician"])
    today = date.today()
    with app.test_request_context(), pytest.raises(service.ClientError) as caught:
        service.create_client(
            owner,
            {
                "first_name": "Ada",
                "last_name": "Quill",
                "date_of_birth": today + timedelta(days=3),
                "intake_date": date(1850, 1, 1),
                "discharge_date": today,
            },
        )
    assert set(caught.value.errors) == {"date_of_birth", "intake_date", "discharge_date"}
