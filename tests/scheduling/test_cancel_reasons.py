"""Cancellation reasons (SECURITY 36, issue 16): a pick-list category anyone who sees the
appointment reads, and free text sealed under the client's data key that only the
client's assigned clinicians read back; migration 0012 seals the reasons stored before.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import scoped_session, sessionmaker

from practice import create_app
from practice.clients.models import Client
from practice.extensions import db
from practice.keys import client_keys
from practice.scheduling.models import Appointment
from tests.conftest import TEST_SECRET_KEY
from tests.databases import TestDatabase
from tests.factories import bearer, make_appointment, make_client
from tests.helpers import assert_error, audit_rows, audit_text, settle
from tests.scheduling.helpers import MONDAY, at, make_clinic, payload

URL = "/api/v1/appointments"
REASON = "Ibis-canary-6120: back on the ward after the overdose"


@pytest.fixture
def clinic():
    return make_clinic()


def _booked(client, clinic, start=MONDAY) -> str:
    response = client.post(URL, json=payload(clinic, start=start), headers=bearer(clinic.owner))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def _cancel(client, clinic, appointment_id, user=None, **fields):
    body = {"status": "cancelled", "cancelled_by": "client", **fields}
    return client.patch(
        f"{URL}/{appointment_id}", json=body, headers=bearer(user or clinic.scheduler)
    )


def _raw(appointment_id) -> Appointment:
    db.session.expire_all()
    return db.session.get(Appointment, uuid.UUID(appointment_id))


def test_the_scheduler_files_a_reason_and_reads_back_only_its_category(client, clinic):
    appointment_id = _booked(client, clinic)
    response = _cancel(client, clinic, appointment_id, cancel_category="illness",
                       cancel_reason=REASON)  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["cancel_category"] == "illness"
    assert body["cancel_reason"] is None and body["has_cancel_reason"] is True
    assert REASON not in response.get_data(as_text=True)
    stored = _raw(appointment_id)
    assert stored.cancel_note and REASON.encode() not in stored.cancel_note
    assert not hasattr(stored, "cancel_reason")
    for who in ("scheduler", "owner"):
        seen = client.get(f"{URL}/{appointment_id}", headers=bearer(getattr(clinic, who)))
        assert seen.get_json()["cancel_category"] == "illness", who
        assert REASON not in seen.get_data(as_text=True), who
    listed = client.get(URL, headers=bearer(clinic.scheduler))
    assert REASON not in listed.get_data(as_text=True)
    assert REASON not in audit_text()


def test_the_clients_clinician_reads_the_words(client, clinic):
    appointment_id = _booked(client, clinic)
    _cancel(client, clinic, appointment_id, cancel_reason=REASON)
    for response in (client.get(f"{URL}/{appointment_id}", headers=bearer(clinic.clinician)),):
        body = response.get_json()
        assert body["cancel_reason"] == REASON and body["cancel_category"] is None
    listed = client.get(URL, headers=bearer(clinic.clinician)).get_json()["items"]
    assert [a["cancel_reason"] for a in listed] == [REASON]
    assert_error(client.get(f"{URL}/{appointment_id}", headers=bearer(clinic.other_clinician)), 404)


def test_a_clinician_who_is_not_the_clients_does_not_read_the_words(client, clinic):
    """An owner who is also a clinician, but not assigned to this client, sees the
    category only."""
    clinic.owner.role_names = "owner clinician"
    settle()
    appointment_id = _booked(client, clinic)
    _cancel(client, clinic, appointment_id, cancel_category="weather", cancel_reason=REASON)
    body = client.get(f"{URL}/{appointment_id}", headers=bearer(clinic.owner)).get_json()
    assert (body["cancel_category"], body["cancel_reason"]) == ("weather", None)


def test_a_series_cancellation_seals_the_words_for_each_occurrence(client, clinic):
    body = payload(clinic, recurrence={"every_weeks": 1, "count": 3})
    first = client.post(URL, json=body, headers=bearer(clinic.owner)).get_json()
    response = client.patch(
        f"{URL}/{first['id']}?scope=series",
        json={"status": "cancelled", "cancelled_by": "clinician",
              "cancel_category": "clinician_unavailable", "cancel_reason": REASON},
        headers=bearer(clinic.scheduler),
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = db.session.scalars(sa.select(Appointment).where(Appointment.series_id.is_not(None)))
    blobs = [row.cancel_note for row in rows]
    assert len(blobs) == 3 and len(set(blobs)) == 3
    listed = client.get(URL, headers=bearer(clinic.clinician)).get_json()["items"]
    assert [a["cancel_reason"] for a in listed] == [REASON] * 3


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cancel_category": "bored"}, "cancel_category"),
        ({"cancel_category": None}, "cancel_category"),
        ({"cancel_reason": ""}, "cancel_reason"),
        ({"cancel_reason": "x" * 501}, "cancel_reason"),
        ({"cancel_reason": 5}, "cancel_reason"),
    ],
)
def test_bad_reasons_are_422(client, clinic, fields, field):
    appointment_id = _booked(client, clinic)
    body = assert_error(_cancel(client, clinic, appointment_id, **fields), 422)
    assert field in body["errors"]["json"]
    assert _raw(appointment_id).status == "scheduled"


@pytest.mark.parametrize("field", ["cancel_category", "cancel_reason"])
def test_a_reason_is_only_for_cancellations(client, clinic, field):
    appointment_id = _booked(client, clinic, start=at(MONDAY, days=-4000))
    value = "other" if field == "cancel_category" else "why"
    response = client.patch(
        f"{URL}/{appointment_id}",
        json={"status": "attended", field: value},
        headers=bearer(clinic.scheduler),
    )
    assert field in assert_error(response, 422)["errors"]["json"]


def test_a_reason_moved_onto_another_appointment_fails_its_integrity_check(client, clinic):
    source, target = _booked(client, clinic), _booked(client, clinic, start=at(MONDAY, days=1))
    _cancel(client, clinic, source, cancel_reason=REASON)
    _cancel(client, clinic, target, cancel_reason="the train")
    db.session.execute(
        sa.update(Appointment)
        .where(Appointment.id == uuid.UUID(target))
        .values(cancel_note=_raw(source).cancel_note)
    )
    settle()
    response = client.get(f"{URL}/{target}", headers=bearer(clinic.clinician))
    assert_error(response, 500)
    assert REASON not in response.get_data(as_text=True)
    [failure] = audit_rows(action="crypto.integrity_failure")
    assert (failure.object_type, failure.object_id) == ("appointments", target)


def test_a_shredded_clients_reasons_are_gone_but_the_appointment_reads(client, clinic):
    appointment_id = _booked(client, clinic)
    _cancel(client, clinic, appointment_id, cancel_category="illness", cancel_reason=REASON)
    client_keys.destroy_client_key(clinic.client)
    settle()
    body = client.get(f"{URL}/{appointment_id}", headers=bearer(clinic.clinician)).get_json()
    assert body["cancel_reason"] is None and body["cancel_category"] == "illness"
    assert body["has_cancel_reason"] is True


def _forget_practice_chains(engine, kind: str) -> None:
    """Delete every audit entry not on the deployment chain, bypassing the append-only
    triggers (and putting them back exactly as they were)."""
    deployment = uuid.UUID(int=0)
    delete = sa.text("DELETE FROM audit_entries WHERE chain_id != :nil")
    with engine.begin() as conn:
        if kind == "sqlite":
            triggers = conn.execute(
                sa.text(
                    "SELECT name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' AND tbl_name = 'audit_entries'"
                )
            ).all()
            for name, _sql in triggers:
                conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
            conn.execute(delete, {"nil": deployment.hex})
            for _name, sql in triggers:
                conn.execute(sa.text(sql))
        else:
            conn.execute(sa.text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
            conn.execute(delete, {"nil": deployment})
            conn.execute(sa.text("ALTER TABLE audit_entries ENABLE TRIGGER USER"))


def test_migration_0012_seals_old_reasons_and_its_downgrade_opens_them(keyring_path):
    """Down to 0011 the words go back into the plain column; up again they are sealed
    (filed as "other"), the plain column is gone, and a shredded client's words are
    dropped. Without a keyring the upgrade refuses before changing anything."""
    scratch = TestDatabase().create()
    try:
        app = create_app(
            "testing",
            {
                "SQLALCHEMY_DATABASE_URI": scratch.url,
                "SECRET_KEY": TEST_SECRET_KEY,
                "PRACTICE_KEYRING": str(keyring_path),
            },
        )
        with app.app_context(), _session_on(db.engine):
            flask_migrate.upgrade()
            clinic = make_clinic()
            kept = make_appointment(clinic.client, cancel_reason=REASON, status="cancelled")
            shredded_client = make_client(clinic.practice, clinic.clinician)
            gone = make_appointment(shredded_client, cancel_reason="gone", status="cancelled")
            plain = make_appointment(clinic.client, starts_at=at(MONDAY, days=3))
            db.session.commit()
            ids = {"kept": kept.id, "gone": gone.id, "plain": plain.id}
            client_id, shredded_id = clinic.client.id, shredded_client.id
            db.session.remove()
            # Revision 0013 refuses to go down while practice chains hold entries (they
            # cannot rejoin the single chain without a rehash); this test is about 0012,
            # so the factories' audit entries are taken out first, past the triggers.
            _forget_practice_chains(db.engine, scratch.kind)
            flask_migrate.downgrade(revision="0011")
            column = sa.text("SELECT cancel_reason FROM appointments WHERE id = :id")

            def old(name):
                key = ids[name].hex if scratch.kind == "sqlite" else ids[name]
                with db.engine.connect() as conn:
                    return conn.execute(column, {"id": key}).scalar()

            assert (old("kept"), old("gone"), old("plain")) == (REASON, "gone", None)
            with db.engine.begin() as conn:  # the shred happens while on the old schema
                conn.execute(
                    sa.text("UPDATE client_data_keys SET wrapped_key = NULL, "
                            "destroyed_at = created_at WHERE client_id = :id"),
                    {"id": shredded_id.hex if scratch.kind == "sqlite" else shredded_id},
                )  # fmt: skip
            keyring = app.extensions.pop("keyring")
            with pytest.raises(SystemExit):  # flask_migrate logs the RuntimeError and exits
                flask_migrate.upgrade()
            app.extensions["keyring"] = keyring
            assert old("kept") == REASON  # nothing changed
            flask_migrate.upgrade()
            with db.engine.connect() as conn:
                names = {c["name"] for c in sa.inspect(conn).get_columns("appointments")}
            assert "cancel_reason" not in names and {"cancel_category", "cancel_note"} <= names
            rows = {row.id: row for row in db.session.scalars(sa.select(Appointment))}
            kept_row, gone_row = rows[ids["kept"]], rows[ids["gone"]]
            assert REASON.encode() not in kept_row.cancel_note
            person = db.session.get(Client, client_id)
            sealed = kept_row.cancel_note
            assert (
                client_keys.unseal(person, "appointments", "cancel_note", kept_row.id, sealed)
                == REASON
            )
            assert (kept_row.cancel_category, gone_row.cancel_category) == ("other", "other")
            assert gone_row.cancel_note is None
            assert rows[ids["plain"]].cancel_category is None
            db.session.remove()
            db.engine.dispose()
    finally:
        scratch.drop()


@contextmanager
def _session_on(engine):
    """db.session on `engine` itself (the scratch database), not on the test's rolled-back
    connection to the shared test database."""
    saved = db.session
    db.session = scoped_session(sessionmaker(bind=engine))
    try:
        yield
    finally:
        db.session.remove()
        db.session = saved
