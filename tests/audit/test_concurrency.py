"""The chain stays whole when many requests write audit events at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from practice.audit.models import AuditCheckpoint, AuditEntry
from practice.audit.verify import verify_chain
from practice.extensions import db as _db
from tests.factories import bearer, make_practice, make_user
from tests.helpers import call

pytestmark = pytest.mark.live
PER_KIND = 8


def _heads() -> dict:
    return dict(
        _db.session.execute(sa.select(AuditCheckpoint.chain_id, AuditCheckpoint.head_seq)).all()
    )


def test_concurrent_requests_keep_one_unbroken_chain(live_server):
    with live_server.app.app_context():
        practice = make_practice()
        owner_headers = bearer(make_user(practice, ("owner",)))
        clinician_headers = bearer(make_user(practice, ("clinician",)))
        _db.session.commit()
        before = _db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        heads = _heads()

    base = live_server.url + "/api/v1"
    calls = (
        [(f"{base}/audit", "GET", owner_headers, None)] * PER_KIND
        + [(f"{base}/audit", "GET", clinician_headers, None)] * PER_KIND
        + [
            (
                f"{base}/auth/login",
                "POST",
                {},
                {"email": f"nobody{i}@example.test", "password": "x" * 12},
            )
            for i in range(PER_KIND)
        ]
    )
    start = threading.Barrier(len(calls))

    def run(request):
        start.wait()
        return call(*request)[0]

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        statuses = list(pool.map(run, calls))

    assert statuses.count(200) == PER_KIND
    assert statuses.count(403) == PER_KIND
    assert statuses.count(401) == PER_KIND
    with live_server.app.app_context():
        result = verify_chain(_db.session)
        assert result.ok, result.problem
        assert result.checked == before + len(calls)
        # The practice's chain and the deployment chain (sign-ins for unknown emails)
        # each grew by their own share, without gaps.
        actions = _db.session.scalars(
            sa.select(AuditEntry.action).where(
                sa.or_(
                    *(
                        sa.and_(AuditEntry.chain_id == chain, AuditEntry.seq > seq)
                        for chain, seq in heads.items()
                    )
                )
            )
        ).all()
        assert sorted(set(actions)) == ["access.denied", "audit.read", "auth.login_failed"]
        assert len(actions) == len(calls)
