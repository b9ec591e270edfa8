"""`flask keys status|rotate|retire`, `flask clients shred`, and rotation killed mid-way."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from practice.audit.models import AuditEntry
from practice.keys import client_keys, rotation
from practice.keys.errors import ShreddedKeyError
from practice.keys.keyring import generate_keyring, load_keyring, save_keyring
from practice.keys.models import ClientDataKey
from practice.keys.sealed import TOTP_PURPOSE, open_secret, seal_secret, sealed_secret_key_id
from practice.scheduling.models import Appointment
from tests.factories import make_appointment, make_client, make_practice, make_user

CANARY = "Zwieback-canary: wants to be seen, expects to be dismissed"


@pytest.fixture
def ring(app, tmp_path, monkeypatch):
    """A private keyring file for this test, installed as the app's keyring."""
    path = tmp_path / "keyring.json"
    keyring = generate_keyring(path)
    monkeypatch.setitem(app.config, "PRACTICE_KEYRING", str(path))
    monkeypatch.setitem(app.extensions, "keyring", keyring)
    monkeypatch.setitem(app.extensions, "keyring_stamp", None)
    return path


@pytest.fixture
def sealed(db, ring):
    """Three clients with sealed values, committed (into the test's savepoint)."""
    practice = make_practice()
    clinician = make_user(practice)
    values = []
    for _ in range(3):
        client = make_client(practice, clinician)
        for n in range(3):
            row_id = uuid.uuid4()
            blob = client_keys.seal(client, "process_notes", "content", row_id, [CANARY, n])
            values.append((client, row_id, blob, [CANARY, n]))
    db.session.commit()
    return values


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def assert_all_decrypt(values):
    client_keys.forget_keys()
    for client, row_id, blob, expected in values:
        assert client_keys.unseal(client, "process_notes", "content", row_id, blob) == expected


def key_ids(db) -> set[str]:
    return set(db.session.scalars(sa.select(ClientDataKey.master_key_id)))


def test_status_lists_keys_active_and_usage(app, sealed, ring):
    result = run(app, "keys", "status")
    active = load_keyring(ring).active_id
    assert result.exit_code == 0, result.output
    assert f"keyring {ring}: 1 master key(s)" in result.output
    line = next(x for x in result.output.splitlines() if active in x)
    assert "active" in line and "3 data key(s)" in line


def test_rotate_adds_a_key_rewraps_everything_and_keeps_values(app, db, sealed, ring):
    old = load_keyring(ring).active_id
    result = run(app, "keys", "rotate", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    keyring = load_keyring(ring)
    assert keyring.active_id != old and set(keyring.keys) == {old, keyring.active_id}
    assert ring.stat().st_mode & 0o777 == 0o600
    assert key_ids(db) == {keyring.active_id}
    assert "rewrapped 3/3" in result.output
    assert_all_decrypt(sealed)
    rows = db.session.scalars(sa.select(ClientDataKey)).all()
    assert all(row.rewrapped_at is not None for row in rows)


def test_rotate_resume_without_pending_adds_no_key(app, sealed, ring):
    before = load_keyring(ring)
    result = run(app, "keys", "rotate", "--resume")
    assert result.exit_code == 0 and "nothing to resume" in result.output
    assert load_keyring(ring) == before


def test_rotate_finishes_an_interrupted_rotation_instead_of_adding_a_key(app, db, sealed, ring):
    grown = rotation.add_master_key(ring)  # the crash came right after the keyring write
    result = run(app, "keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "resuming an unfinished rotation: 3 data key(s)" in result.output
    assert load_keyring(ring) == grown
    assert key_ids(db) == {grown.active_id}
    assert_all_decrypt(sealed)


def test_retire_refused_while_in_use_and_for_the_active_key(app, db, sealed, ring):
    old = load_keyring(ring).active_id
    grown = rotation.add_master_key(ring)
    result = run(app, "keys", "retire", old)
    assert result.exit_code == 1
    assert f"master key {old!r} still wraps 3 data key(s)" in result.output
    assert old in load_keyring(ring).keys
    result = run(app, "keys", "retire", grown.active_id)
    assert result.exit_code == 1 and "active key and can never be retired" in result.output
    assert run(app, "keys", "retire", "knothere").exit_code == 1
    assert run(app, "keys", "rotate", "--resume").exit_code == 0
    result = run(app, "keys", "retire", old)
    assert result.exit_code == 0, result.output
    assert set(load_keyring(ring).keys) == {grown.active_id}
    assert_all_decrypt(sealed)
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"keys.rotate", "keys.retire"} <= actions


def test_retire_refused_while_a_totp_secret_is_sealed_with_it(app, db, sealed, ring):
    old = load_keyring(ring).active_id
    user = make_user(make_practice("Other Rooms"))
    user.totp_secret = f"s1:{old}:AAAA"  # damaged: cannot be opened, so cannot be resealed
    db.session.commit()
    rotated = run(app, "keys", "rotate")
    assert rotated.exit_code == 1 and "must re-enrol" in rotated.output
    result = run(app, "keys", "retire", old)
    assert result.exit_code == 1 and "1 user secret(s)" in result.output


def test_rotate_reseals_totp_secrets_so_the_old_key_can_be_retired(app, db, sealed, ring):

    old = load_keyring(ring).active_id
    user = make_user(make_practice("Seed Rooms"))
    user.totp_secret = seal_secret(
        load_keyring(ring), TOTP_PURPOSE, str(user.id), b"JBSWY3DPEHPK3PXP"
    )
    db.session.commit()
    result = run(app, "keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "1 user secret(s) resealed" in result.output
    db.session.refresh(user)
    new_ring = load_keyring(ring)
    assert sealed_secret_key_id(user.totp_secret) == new_ring.active_id != old
    assert open_secret(new_ring, TOTP_PURPOSE, str(user.id), user.totp_secret) == (
        b"JBSWY3DPEHPK3PXP"
    )
    assert run(app, "keys", "retire", old).exit_code == 0


def test_rotate_stops_cleanly_on_a_master_key_missing_from_the_keyring(app, db, sealed, ring):
    keyring = load_keyring(ring)
    other = generate_keyring(ring.parent / "other.json")
    save_keyring(other, ring)  # the operator lost the key that wraps everything
    status = run(app, "keys", "status")
    assert status.exit_code == 1 and "MISSING" in status.output
    result = run(app, "keys", "rotate")
    assert result.exit_code == 1 and "put that key back" in result.output
    assert key_ids(db) == {keyring.active_id}
    save_keyring(keyring, ring)
    assert run(app, "keys", "rotate").exit_code == 0


def test_rotate_refuses_an_inline_keyring(app, sealed, monkeypatch):
    monkeypatch.setitem(app.config, "PRACTICE_KEYRING", '{"active": "x", "keys": {}}')
    result = run(app, "keys", "rotate")
    assert result.exit_code == 2 and "--keyring PATH" in result.output


def _discharge(client, years_ago: float):
    client.status = "discharged"
    client.discharge_date = date.today() - timedelta(days=int(365.25 * years_ago) + 1)


def test_shred_refuses_active_and_recent_clients(app, db, sealed):
    client = sealed[0][0]
    result = run(app, "clients", "shred", str(client.id))
    assert result.exit_code == 1 and "not discharged" in result.output
    _discharge(client, 2)
    db.session.commit()
    result = run(app, "clients", "shred", str(client.id))
    assert result.exit_code == 1 and "7-year retention period" in result.output
    result = run(app, "clients", "shred", str(client.id), "--force")
    assert (
        result.exit_code == 2 and "--i-understand-this-destroys-clinical-records" in result.output
    )
    assert run(app, "clients", "shred", str(uuid.uuid4())).exit_code == 1
    assert_all_decrypt(sealed)


def test_shred_destroys_clinical_text_but_keeps_appointments(app, db, sealed):
    client = sealed[0][0]
    start = datetime(2017, 3, 6, 9, tzinfo=UTC)
    make_appointment(client, starts_at=start)
    _discharge(client, 8)
    db.session.commit()
    result = run(app, "clients", "shred", str(client.id))
    assert result.exit_code == 0, result.output
    client_keys.forget_keys()
    for owner, row_id, blob, _ in sealed:
        if owner.id == client.id:
            with pytest.raises(ShreddedKeyError):
                client_keys.unseal(owner, "process_notes", "content", row_id, blob)
    assert_all_decrypt([v for v in sealed if v[0].id != client.id])
    count = sa.select(sa.func.count()).select_from(Appointment)
    assert db.session.scalar(count.where(Appointment.client_id == client.id)) == 1
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "client.shred"))
    assert entry.object_id == str(client.id) and CANARY not in str(entry.__dict__)
    status = run(app, "keys", "status")
    assert "shredded data keys: 1" in status.output


def test_shred_force_with_confirmation_and_custom_retention(app, db, sealed, monkeypatch):
    client, other = sealed[0][0], sealed[3][0]
    flag = "--i-understand-this-destroys-clinical-records"
    assert run(app, "clients", "shred", str(client.id), "--force", flag).exit_code == 0
    monkeypatch.setitem(app.config, "PRACTICE_RETENTION_YEARS", 1)
    _discharge(other, 1.5)
    db.session.commit()
    assert run(app, "clients", "shred", str(other.id)).exit_code == 0
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(ClientDataKey.wrapped_key.is_(None)))
        == 2
    )
