"""No request content ever reaches an audit column (SECURITY 22)."""

from __future__ import annotations

import sqlalchemy as sa

from tests.factories import bearer, make_practice, make_user

CANARY = "CanaryPelican7719"


def test_request_content_leaves_no_trace_in_the_audit_log(client, db):
    practice = make_practice()
    owner = make_user(practice, ("owner",))
    clinician = make_user(practice, ("clinician",))
    owner_headers, clinician_headers = bearer(owner), bearer(clinician)
    db.session.commit()
    noisy = {"User-Agent": CANARY, "X-Forwarded-For": CANARY, "Referer": CANARY}

    client.post("/api/v1/auth/login", json={"email": f"{CANARY}@example.test", "password": CANARY})
    client.post("/api/v1/auth/login", json={"email": owner.email, "password": CANARY * 2})
    client.get(
        f"/api/v1/audit?action={CANARY}&object_id={CANARY}", headers={**owner_headers, **noisy}
    )
    client.get(f"/api/v1/audit?object_id={CANARY}", headers={**clinician_headers, **noisy})
    client.get(f"/api/v1/audit?{CANARY}=1", headers=owner_headers)
    client.get(f"/api/v1/users/{CANARY}", headers=owner_headers)
    client.post(
        "/api/v1/users",
        json={"email": f"x{CANARY}@example.test".lower(), "name": CANARY, "roles": ["clinician"],
              "password": f"{CANARY} {CANARY} harbour"},
        headers={**owner_headers, **noisy},
    )  # fmt: skip
    client.get(f"/api/v1/{CANARY}", headers=owner_headers)

    entries = db.session.execute(sa.text("SELECT * FROM audit_entries")).all()
    assert len(entries) >= 4, "the requests above should have been audited"
    dump = repr(entries) + repr(db.session.execute(sa.text("SELECT * FROM audit_checkpoint")).all())
    assert CANARY.lower() not in dump.lower()
