"""Client data keys in the database: seal/unseal, binding, caching, shredding, no keyring."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from practice import create_app
from practice.audit.models import AuditEntry
from practice.clients.models import Client
from practice.extensions import db as _db
from practice.keys import client_keys
from practice.keys.envelope import VALUE_FORMAT, generate_data_key, unwrap_data_key
from practice.keys.errors import (
    CryptoError,
    IntegrityError,
    MalformedValueError,
    ShreddedKeyError,
    UnknownDataKeyError,
)
from practice.keys.keyring import Keyring, generate_keyring, new_key_id, save_keyring
from practice.keys.models import ClientDataKey
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_client, make_practice, make_user

CANARY = "Zwieback-canary: dreams of the strict grandmother"


@pytest.fixture
def clinic(db):
    practice = make_practice()
    clinician = make_user(practice, ("clinician",))
    return practice, clinician, make_client(practice, clinician), make_client(practice, clinician)


def _key_row(db, client) -> ClientDataKey | None:
    return db.session.scalar(sa.select(ClientDataKey).where(ClientDataKey.client_id == client.id))


def test_round_trip_creates_one_wrapped_key_on_first_use(db, clinic, app):
    _, _, client, _ = clinic
    assert _key_row(db, client) is None
    row_id = uuid.uuid4()
    value = {"text": CANARY, "n": [1, 2.5, None, True], "ü": "ß"}
    blob = client_keys.seal(client, "process_notes", "content", row_id, value)
    assert client_keys.unseal(client, "process_notes", "content", row_id, blob) == value
    row = _key_row(db, client)
    assert row is not None and row.wrapped_key is not None
    assert row.master_key_id == app.extensions["keyring"].active_id
    assert CANARY.encode() not in blob
    assert blob[0] == VALUE_FORMAT and blob[1:17] == row.id.bytes
    client_keys.seal(client, "figures", "payload", uuid.uuid4(), "more")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ClientDataKey)) == 1


def test_same_plaintext_twice_gives_different_ciphertexts(clinic):
    _, _, client, _ = clinic
    row_id = uuid.uuid4()
    one = client_keys.seal(client, "process_notes", "content", row_id, CANARY)
    two = client_keys.seal(client, "process_notes", "content", row_id, CANARY)
    assert one != two
    assert one[17:29] != two[17:29]  # distinct nonces


@pytest.mark.parametrize(
    "target",
    [
        ("process_notes", "content", "other-row"),
        ("process_notes", "summary", "same-row"),
        ("note_addenda", "content", "same-row"),
        ("scripts", "payload", "other-row"),
    ],
)
def test_value_moved_to_another_row_column_or_table_fails(clinic, target):
    _, _, client, _ = clinic
    row_id = uuid.uuid4()
    blob = client_keys.seal(client, "process_notes", "content", row_id, CANARY)
    table, column, which = target
    other = uuid.uuid4() if which == "other-row" else row_id
    with pytest.raises(IntegrityError) as caught:
        client_keys.unseal(client, table, column, other, blob)
    assert CANARY not in str(caught.value)
    assert caught.value.table == table and caught.value.row_id == other


def assert_names_the_target(error: IntegrityError, client, row_id) -> None:
    """The error locates the value it was asked to open (what the HTTP handler audits),
    by ids only: the reading client's process_notes.content of `row_id`, no text."""
    located = (error.table, error.column, error.row_id, error.client_id)
    assert located == ("process_notes", "content", row_id, client.id)
    assert CANARY not in str(error) and str(error)


def test_value_moved_to_another_client_fails(clinic):
    _, _, client, other_client = clinic
    row_id = uuid.uuid4()
    blob = client_keys.seal(client, "process_notes", "content", row_id, CANARY)
    client_keys.seal(other_client, "process_notes", "content", uuid.uuid4(), "theirs")
    with pytest.raises(UnknownDataKeyError) as caught:
        client_keys.unseal(other_client, "process_notes", "content", row_id, blob)
    assert_names_the_target(caught.value, other_client, row_id)


def test_value_of_a_client_without_key_names_an_unknown_key(clinic):
    _, _, client, other_client = clinic
    row_id = uuid.uuid4()
    blob = client_keys.seal(client, "process_notes", "content", row_id, CANARY)
    with pytest.raises(UnknownDataKeyError) as caught:
        client_keys.unseal(other_client, "process_notes", "content", row_id, blob)
    assert_names_the_target(caught.value, other_client, row_id)


def test_other_practice_cannot_use_a_clients_key(db, clinic):
    _, _, client, _ = clinic
    client_keys.seal(client, "figures", "payload", uuid.uuid4(), "x")
    other_practice = make_practice("Elsewhere Rooms")
    stranger = make_client(other_practice, make_user(other_practice))
    row = _key_row(db, client)
    row.client_id = stranger.id  # a key row moved across practices in the database
    db.session.flush()
    client_keys.forget_keys()
    with pytest.raises(IntegrityError):
        client_keys.seal(stranger, "figures", "payload", uuid.uuid4(), "x")


@pytest.mark.parametrize(
    "blob", [b"", b"\x01", b"\x03" + bytes(60), bytes(20), b"\x01" + bytes(30)]
)
def test_malformed_blobs_are_clear_errors(clinic, blob):
    _, _, client, _ = clinic
    client_keys.seal(client, "figures", "payload", uuid.uuid4(), "x")
    with pytest.raises(MalformedValueError):
        client_keys.unseal(client, "figures", "payload", uuid.uuid4(), blob)


def test_missing_blob_is_a_clear_error(clinic):
    _, _, client, _ = clinic
    with pytest.raises(MalformedValueError):
        client_keys.unseal(client, "figures", "payload", uuid.uuid4(), None)


def test_client_cipher_unwraps_once_per_session(clinic, monkeypatch):
    _, _, client, _ = clinic
    ids = [uuid.uuid4() for _ in range(20)]
    blobs = [
        client_keys.seal(client, "process_notes", "content", i, {"i": n}) for n, i in enumerate(ids)
    ]
    client_keys.forget_keys()
    calls = []
    real = unwrap_data_key
    monkeypatch.setattr(client_keys, "unwrap_data_key", lambda *a: calls.append(1) or real(*a))
    cipher = client_keys.client_cipher(client)
    assert client_keys.client_cipher(client) is cipher
    out = [cipher.unseal("process_notes", "content", i, b) for i, b in zip(ids, blobs, strict=True)]
    assert out == [{"i": n} for n in range(20)]
    assert client_keys.unseal(client, "process_notes", "content", ids[0], blobs[0]) == {"i": 0}
    assert len(calls) == 1


def test_cache_is_dropped_on_rollback_so_no_unsaved_key_is_used(db, clinic):
    _, _, client, _ = clinic
    savepoint = db.session.begin_nested()
    client_keys.seal(client, "figures", "payload", uuid.uuid4(), "x")
    created = _key_row(db, client).id
    savepoint.rollback()
    assert client_keys.CACHE not in db.session.info
    assert _key_row(db, client) is None
    blob = client_keys.seal(client, "figures", "payload", uuid.uuid4(), "y")
    row = _key_row(db, client)
    assert row.id != created and blob[1:17] == row.id.bytes


def test_cache_never_holds_keys_in_reprs(clinic):
    _, _, client, _ = clinic
    client_keys.seal(client, "figures", "payload", uuid.uuid4(), "x")
    cipher = client_keys.client_cipher(client)
    assert str(client.id) in repr(cipher)
    assert "ValueCipher" in repr(cipher._cipher) and "key=" in repr(cipher._cipher)


def test_shredded_key_makes_text_unreadable_and_refuses_new_text(db, clinic):
    _, _, client, other = clinic
    row_id = uuid.uuid4()
    blob = client_keys.seal(client, "process_notes", "content", row_id, CANARY)
    keep = client_keys.seal(other, "process_notes", "content", row_id, "kept")
    row = client_keys.destroy_client_key(client)
    assert row.wrapped_key is None and row.destroyed_at is not None
    with pytest.raises(ShreddedKeyError) as caught:
        client_keys.unseal(client, "process_notes", "content", row_id, blob)
    assert isinstance(caught.value, IntegrityError)
    with pytest.raises(ShreddedKeyError):
        client_keys.seal(client, "process_notes", "content", uuid.uuid4(), "new text")
    assert client_keys.unseal(other, "process_notes", "content", row_id, keep) == "kept"


def test_shredding_a_client_without_key_leaves_a_destroyed_marker(db, clinic):
    _, _, client, _ = clinic
    client_keys.destroy_client_key(client)
    assert _key_row(db, client).wrapped_key is None
    with pytest.raises(ShreddedKeyError):
        client_keys.seal(client, "figures", "payload", uuid.uuid4(), "x")


def test_dump_plus_code_without_the_keyring_decrypts_nothing(db, clinic, app, monkeypatch):
    _, _, client, other = clinic
    sealed = []
    for c in (client, other):
        for _ in range(5):
            row_id = uuid.uuid4()
            sealed.append(
                (c, row_id, client_keys.seal(c, "process_notes", "content", row_id, CANARY))
            )
    db.session.flush()
    same_ids = {k: generate_data_key() for k in app.extensions["keyring"].keys}
    active = app.extensions["keyring"].active_id
    attackers = [
        Keyring("kattack1", {"kattack1": generate_data_key()}),  # another keyring
        Keyring(active, same_ids),  # right ids, wrong bytes
    ]
    for keyring in attackers:
        monkeypatch.setitem(app.extensions, "keyring", keyring)
        for c, row_id, blob in sealed:
            client_keys.forget_keys()
            with pytest.raises(CryptoError) as caught:
                client_keys.unseal(c, "process_notes", "content", row_id, blob)
            assert isinstance(caught.value, IntegrityError)
            assert CANARY not in str(caught.value)
            assert str(caught.value)


def test_keyring_file_change_is_picked_up_without_restart(db, app, clinic, tmp_path, monkeypatch):
    _, _, client, _ = clinic
    path = tmp_path / "keyring.json"
    first = generate_keyring(path)
    monkeypatch.setitem(app.extensions, "keyring", first)
    assert client_keys.current_keyring() == first
    new_id = new_key_id()
    grown = Keyring(new_id, {**first.keys, new_id: generate_data_key()})
    save_keyring(grown, path)
    assert client_keys.current_keyring().active_id == new_id
    client_keys.seal(client, "figures", "payload", uuid.uuid4(), "x")
    assert _key_row(db, client).master_key_id == new_id


@pytest.fixture(scope="module")
def probe_app(database, keyring_path):
    """A second app with a route that unseals a tampered value, for the HTTP handler."""
    probe = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database.url,
            "SECRET_KEY": TEST_SECRET_KEY,
            "PRACTICE_KEYRING": str(keyring_path),
        },
    )

    @probe.get("/api/v1/_probe/<uuid:client_id>/<uuid:row_id>")
    def unseal_tampered(client_id, row_id):
        client = _db.session.get(Client, client_id)
        blob = bytearray(client_keys.seal(client, "process_notes", "content", row_id, CANARY))
        blob[-1] ^= 1
        return {"text": client_keys.unseal(client, "process_notes", "content", row_id, bytes(blob))}

    yield probe
    with probe.app_context():
        _db.engine.dispose()


def test_integrity_failure_over_http_is_a_generic_500_and_audited(db, clinic, probe_app):
    _, _, client, _ = clinic
    db.session.commit()
    row_id = uuid.uuid4()
    response = probe_app.test_client().get(f"/api/v1/_probe/{client.id}/{row_id}")
    assert response.status_code == 500
    body = response.get_json()
    assert body == {
        "code": 500,
        "status": "Internal Server Error",
        "message": "This record failed an integrity check and cannot be shown.",
    }
    assert CANARY not in response.get_data(as_text=True)
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "crypto.integrity_failure")
    )
    assert entry is not None
    assert (entry.outcome, entry.object_type, entry.object_id) == (
        "error",
        "process_notes",
        str(row_id),
    )


def test_a_removed_key_that_was_never_shredded_is_tampering_not_a_shred(db, clinic):
    """Only `flask clients shred` (which sets destroyed_at) makes a record 'gone' (410);
    a wrapped key removed by other means is an integrity failure like any other."""
    _, _, client, _ = clinic
    row_id = uuid.uuid4()
    blob = client_keys.seal(client, "process_notes", "content", row_id, {"text": CANARY})
    row = _key_row(db, client)
    row.wrapped_key = None
    db.session.flush()
    client_keys.forget_keys()
    with pytest.raises(IntegrityError, match="never shredded") as info:
        client_keys.unseal(client, "process_notes", "content", row_id, blob)
    assert not isinstance(info.value, ShreddedKeyError)
    row.destroyed_at = row.created_at
    db.session.flush()
    client_keys.forget_keys()
    with pytest.raises(ShreddedKeyError):
        client_keys.unseal(client, "process_notes", "content", row_id, blob)
