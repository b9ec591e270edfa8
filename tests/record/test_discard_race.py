"""Racing discards of one draft plan against a live server, with signs and saves at the
same version: exactly one write wins, the rest are refused (412 at a version no longer
current, 404 once the draft is gone, 409 once it is signed), never a 500."""

from __future__ import annotations

import pytest

from tests.helpers import call
from tests.record.test_concurrency import WRITERS, race, seed

pytestmark = pytest.mark.live


def test_racing_discards_signs_and_saves_of_a_draft_plan_have_one_winner(live_server):
    s = seed(live_server)
    body = {"content": {"goals": [{"text": "Notice it"}]}, "review_date": "2027-06-01"}
    status, plan, _ = call(
        f"{s['base']}/clients/{s['client']}/treatment-plans", "POST", s["clinician"], body
    )
    assert status == 201, plan
    url = f"{s['base']}/treatment-plans/{plan['id']}"
    headers = {**s["clinician"], "If-Match": '"1"'}

    def write(i: int):
        if i % 4 == 1:
            return call(f"{url}/sign", "POST", headers)
        if i % 4 == 3:
            return call(url, "PUT", headers, body)
        return call(f"{url}/discard", "POST", headers)

    results = race(WRITERS, write)
    statuses = [result[1][0] for result in results]
    winners = [i for i, (code, _b, _h) in results if code in (200, 204)]
    assert len(winners) == 1 and set(statuses) <= {200, 204, 404, 409, 412}, statuses
    [winner] = winners
    found, stored, _ = call(url, "GET", s["clinician"])
    if winner % 4 in (0, 2):  # a discard won: the draft is gone, a new one can start
        assert found == 404, stored
        again, _b, _h = call(
            f"{s['base']}/clients/{s['client']}/treatment-plans", "POST", s["clinician"], {}
        )
        assert again == 201
    else:
        assert found == 200 and stored["version"] == 2
        assert stored["status"] == ("signed" if winner % 4 == 1 else "draft")
