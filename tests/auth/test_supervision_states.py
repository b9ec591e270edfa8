"""Supervision link states: each step applies only to the state it was meant for, so a
late answer never revives a request that was withdrawn or declined meanwhile."""

import pytest
import sqlalchemy as sa

from practice.auth import policy, supervision
from practice.auth.models import Supervision
from practice.extensions import db
from tests.factories import make_practice, make_user


@pytest.fixture
def people():
    practice = make_practice()
    return (
        make_user(practice, ["owner"]),
        make_user(practice, ["supervisor"]),
        make_user(practice, ["clinician"]),
    )


def withdraw_behind_its_back(link: Supervision) -> None:
    """Another request withdraws the link; the caller's object is now stale."""
    db.session.execute(
        sa.update(Supervision)
        .where(Supervision.id == link.id)
        .values(ended_at=sa.func.current_timestamp(), end_reason="withdrawn"),
        execution_options={"synchronize_session": False},
    )


def test_a_late_accept_does_not_revive_a_withdrawn_request(people):
    owner, supervisor, clinician = people
    link, created = supervision.request(owner, supervisor, clinician)
    assert created and link.status == "pending"
    withdraw_behind_its_back(link)
    with pytest.raises(supervision.Refused):
        supervision.accept(clinician, link)
    assert link.accepted_at is None and link.status == "withdrawn"
    assert policy.supervisee_ids(supervisor) == set()


def test_a_late_decline_or_end_changes_nothing_after_a_withdrawal(people):
    owner, supervisor, clinician = people
    link, _created = supervision.request(owner, supervisor, clinician)
    withdraw_behind_its_back(link)
    with pytest.raises(supervision.Refused):
        supervision.decline(clinician, link)
    assert supervision.end(clinician, link) is False
    assert link.status == "withdrawn" and link.ended_by_id is None


def test_only_a_link_in_effect_reaches(people):
    owner, supervisor, clinician = people
    link, _created = supervision.request(owner, supervisor, clinician)
    assert not policy.supervises(supervisor, clinician.id)
    supervision.accept(clinician, link)
    assert policy.supervises(supervisor, clinician.id)
    assert policy.supervisee_ids(supervisor) == {clinician.id}
    # Asking again while a link is open answers that link, in its state.
    again, created = supervision.request(owner, supervisor, clinician)
    assert again.id == link.id and not created and again.status == "active"
    assert supervision.end(supervisor, link) and link.status == "ended"
    assert not policy.supervises(supervisor, clinician.id)
    with pytest.raises(PermissionError):
        supervision.accept(supervisor, supervision.request(owner, supervisor, clinician)[0])
