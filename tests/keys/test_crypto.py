"""Envelope encryption, the keyring and sealed secrets: value format, binding, tamper
detection (hypothesis), wrapping, HTTP."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from practice.keys.envelope import (
    MIN_PADDED_BYTES,
    VALUE_FORMAT,
    VERSIONED_FORMAT,
    WRAPPED_KEY_BYTES,
    ValueCipher,
    key_reference,
    pad_json,
    padded_length,
    rewrap_data_key,
    unwrap_data_key,
    wrap_data_key,
)
from practice.keys.errors import (
    IntegrityError,
    KeyringError,
    MalformedValueError,
    ShreddedKeyError,
    UnknownDataKeyError,
    UnknownKeyError,
)
from practice.keys.keyring import Keyring, load_keyring, save_keyring

pytestmark = pytest.mark.pure  # plain values in, plain values out: no database

CANARY = "Zwieback-canary: the critical-parent script, again"
PRACTICE, CLIENT, KEY_ID, ROW = (uuid.uuid4() for _ in range(4))
KEYRING = Keyring("ka01", {"ka01": bytes(range(32)), "kb01": bytes(range(1, 33))})
DATA_KEY = bytes(range(100, 132))
CIPHER = ValueCipher(PRACTICE, CLIENT, KEY_ID, DATA_KEY)
BLOB = CIPHER.encrypt("process_notes", "content", ROW, CANARY.encode())
VERSIONED = CIPHER.encrypt("process_notes", "content", ROW, CANARY.encode(), 7)
MASTER_ID, WRAPPED = wrap_data_key(KEYRING, PRACTICE, CLIENT, KEY_ID, DATA_KEY)
# Regions of a value: format byte, key reference, nonce, ciphertext, tag.
REGIONS = {
    "format": (0, 1),
    "key_reference": (1, 17),
    "nonce": (17, 29),
    "ciphertext": (29, len(BLOB) - 16),
    "tag": (len(BLOB) - 16, len(BLOB)),
}
PROPERTY = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_value_layout_and_round_trip():
    assert len(BLOB) == 1 + 16 + 12 + len(CANARY.encode()) + 16
    assert BLOB[0] == VALUE_FORMAT and BLOB[1:17] == KEY_ID.bytes
    assert key_reference(BLOB) == KEY_ID
    assert CIPHER.decrypt("process_notes", "content", ROW, BLOB) == CANARY.encode()
    assert CANARY.encode() not in BLOB


def test_same_plaintext_twice_differs():
    blobs = {CIPHER.encrypt("process_notes", "content", ROW, b"same") for _ in range(50)}
    assert len(blobs) == 50


@pytest.mark.parametrize(
    "place",
    [
        ("process_notes", "content", uuid.uuid4()),
        ("process_notes", "summary", ROW),
        ("note_addenda", "content", ROW),
        ("process_note", "scontent", ROW),  # length-prefixed: no ambiguous concatenation
    ],
)
def test_value_is_bound_to_table_column_and_row(place):
    with pytest.raises(IntegrityError):
        CIPHER.decrypt(*place, BLOB)


@pytest.mark.parametrize("who", ["practice", "client"])
def test_value_is_bound_to_practice_and_client(who):
    practice = uuid.uuid4() if who == "practice" else PRACTICE
    client = uuid.uuid4() if who == "client" else CLIENT
    other = ValueCipher(practice, client, KEY_ID, DATA_KEY)
    with pytest.raises(IntegrityError):
        other.decrypt("process_notes", "content", ROW, BLOB)


def test_value_naming_another_key_is_refused_without_trying():
    other = ValueCipher(PRACTICE, CLIENT, uuid.uuid4(), DATA_KEY)
    with pytest.raises(UnknownDataKeyError, match="names data key"):
        other.decrypt("process_notes", "content", ROW, BLOB)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "truncated"),
        (BLOB[:40], "truncated"),
        (b"\x03" + BLOB[1:], "unknown format byte 0x03"),
        (b"\x00" + VERSIONED[1:], "unknown format byte 0x00"),
        ("text", "must be bytes"),
    ],
)
def test_malformed_values_are_clear_errors(blob, message):
    with pytest.raises(MalformedValueError, match=message):
        CIPHER.decrypt("process_notes", "content", ROW, blob)


def _flip(data: bytes, index: int, mask: int) -> bytes:
    out = bytearray(data)
    out[index] ^= mask
    return bytes(out)


@PROPERTY
@given(
    region=st.sampled_from(sorted(REGIONS)),
    offset=st.integers(min_value=0, max_value=10_000),
    mask=st.integers(min_value=1, max_value=255),
)
@pytest.mark.parametrize(("blob", "version"), [(BLOB, None), (VERSIONED, 7)])
def test_any_flipped_byte_of_a_value_fails(blob, version, region, offset, mask):
    start, end = REGIONS[region]
    tampered = _flip(blob, start + offset % (end - start), mask)
    with pytest.raises(IntegrityError) as caught:
        CIPHER.decrypt("process_notes", "content", ROW, tampered, version)
    assert CANARY not in str(caught.value)


@pytest.mark.parametrize("index", range(len(BLOB)))
def test_every_single_bit_flip_of_a_value_fails(index):
    for bit in range(8):
        with pytest.raises(IntegrityError):
            CIPHER.decrypt("process_notes", "content", ROW, _flip(BLOB, index, 1 << bit))


def test_versioned_value_layout_and_round_trip():
    assert VERSIONED[0] == VERSIONED_FORMAT and VERSIONED[1:17] == KEY_ID.bytes
    assert len(VERSIONED) == len(BLOB)  # the version is bound, not stored
    assert key_reference(VERSIONED) == KEY_ID
    assert CIPHER.decrypt("process_notes", "content", ROW, VERSIONED, 7) == CANARY.encode()


@pytest.mark.parametrize("version", [6, 8, 0, 2**63 - 1, None])
def test_versioned_value_opens_only_at_its_version(version):
    """SECURITY 34: an older value of the same row put back fails to decrypt."""
    with pytest.raises(IntegrityError) as caught:
        CIPHER.decrypt("process_notes", "content", ROW, VERSIONED, version)
    assert CANARY not in str(caught.value)
    assert caught.value.row_id == ROW and caught.value.table == "process_notes"


def test_format_byte_cannot_be_downgraded_to_escape_the_version():
    relabelled = bytes([VALUE_FORMAT]) + VERSIONED[1:]
    for version in (None, 7, 8):
        with pytest.raises(IntegrityError):
            CIPHER.decrypt("process_notes", "content", ROW, relabelled, version)
    upgraded = bytes([VERSIONED_FORMAT]) + BLOB[1:]
    with pytest.raises(IntegrityError):
        CIPHER.decrypt("process_notes", "content", ROW, upgraded, 1)


def test_value_written_before_versions_were_bound_still_opens_at_any_version():
    for version in (None, 1, 12):
        assert CIPHER.decrypt("process_notes", "content", ROW, BLOB, version) == CANARY.encode()


@pytest.mark.parametrize("version", [-1, 2**63, 1.0, "1", True])
def test_a_version_must_be_a_whole_number_in_range(version):
    with pytest.raises(ValueError, match="version"):
        CIPHER.encrypt("process_notes", "content", ROW, b"x", version)
    with pytest.raises(IntegrityError):
        CIPHER.decrypt("process_notes", "content", ROW, VERSIONED, version)


def test_truncating_or_extending_a_value_fails():
    for cut in range(len(BLOB)):
        with pytest.raises(IntegrityError):
            CIPHER.decrypt("process_notes", "content", ROW, BLOB[:cut])
    with pytest.raises(IntegrityError):
        CIPHER.decrypt("process_notes", "content", ROW, BLOB + b"\x00")


def test_wrap_round_trip_and_layout():
    assert MASTER_ID == "ka01" and len(WRAPPED) == WRAPPED_KEY_BYTES
    assert DATA_KEY not in WRAPPED
    unwrapped = unwrap_data_key(KEYRING, PRACTICE, CLIENT, KEY_ID, MASTER_ID, WRAPPED)
    assert unwrapped == DATA_KEY
    again = wrap_data_key(KEYRING, PRACTICE, CLIENT, KEY_ID, DATA_KEY)[1]
    assert again != WRAPPED


@PROPERTY
@given(index=st.integers(min_value=0, max_value=WRAPPED_KEY_BYTES - 1), mask=st.integers(1, 255))
def test_any_flipped_byte_of_a_wrapped_key_fails(index, mask):
    with pytest.raises(IntegrityError):
        unwrap_data_key(KEYRING, PRACTICE, CLIENT, KEY_ID, MASTER_ID, _flip(WRAPPED, index, mask))


@PROPERTY
@given(index=st.integers(min_value=0, max_value=3), mask=st.integers(1, 255))
def test_any_flipped_byte_of_the_master_key_id_fails(index, mask):
    flipped = _flip(MASTER_ID.encode(), index, mask).decode("utf-8", "surrogateescape")
    with pytest.raises(IntegrityError):
        unwrap_data_key(KEYRING, PRACTICE, CLIENT, KEY_ID, flipped, WRAPPED)


def test_master_key_id_swapped_for_another_key_in_the_keyring_fails():
    with pytest.raises(IntegrityError, match="failed its integrity check"):
        unwrap_data_key(KEYRING, PRACTICE, CLIENT, KEY_ID, "kb01", WRAPPED)


@pytest.mark.parametrize("field", ["practice", "client", "data_key"])
def test_wrapped_key_is_bound_to_practice_client_and_key_id(field):
    ids = {"practice": PRACTICE, "client": CLIENT, "data_key": KEY_ID}
    ids[field] = uuid.uuid4()
    with pytest.raises(IntegrityError):
        unwrap_data_key(
            KEYRING, ids["practice"], ids["client"], ids["data_key"], MASTER_ID, WRAPPED
        )


def test_unknown_master_key_is_a_clear_keyring_error():
    with pytest.raises(UnknownKeyError, match="master key 'kgone'"):
        unwrap_data_key(KEYRING, PRACTICE, CLIENT, KEY_ID, "kgone", WRAPPED)
    assert issubclass(UnknownKeyError, KeyringError)
    assert issubclass(UnknownKeyError, IntegrityError)


def test_shredded_key_cannot_be_unwrapped():
    with pytest.raises(ShreddedKeyError, match="destroyed"):
        unwrap_data_key(KEYRING, PRACTICE, CLIENT, KEY_ID, MASTER_ID, None)


def test_rewrap_moves_to_the_active_key_and_keeps_the_data_key():
    rotated = Keyring("kb01", KEYRING.keys)
    master, wrapped = rewrap_data_key(rotated, PRACTICE, CLIENT, KEY_ID, "ka01", WRAPPED)
    assert master == "kb01"
    assert unwrap_data_key(rotated, PRACTICE, CLIENT, KEY_ID, master, wrapped) == DATA_KEY


def test_keyring_repr_never_shows_key_bytes():
    assert repr(bytes(range(32))) not in repr(KEYRING)
    assert "ka01" in repr(KEYRING)
    assert repr(DATA_KEY) not in repr(CIPHER)


def test_saved_keyring_is_mode_0600_and_round_trips(tmp_path):
    path = tmp_path / "k" / "keyring.json"
    save_keyring(KEYRING, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_keyring(path) == KEYRING
    assert not path.with_name("keyring.json.tmp").exists()


@given(st.integers(min_value=0, max_value=10_000_000))
def test_padded_length_is_monotonic_bounded_and_coarse(length):
    padded = padded_length(length)
    assert padded >= max(length, MIN_PADDED_BYTES)
    if length > MIN_PADDED_BYTES:
        assert padded <= length * 1.12 + 1  # Padmé: at most 12 % overhead
    assert padded_length(length + 1) >= padded


def test_sizes_that_differ_a_little_seal_to_the_same_length():
    """Lengths within one bucket are indistinguishable; JSON parsing ignores the spaces."""
    short, longer = b'{"a":"x"}', b'{"a":"' + b"x" * 200 + b'"}'
    assert len(pad_json(short)) == len(pad_json(longer)) == 256
    # A 3 KB note: buckets of 128 bytes, so 100 bytes more or less fall into one or two.
    assert len({padded_length(n) for n in range(3_000, 3_100)}) <= 2
    assert json.loads(pad_json(b'{"a":[1,2]}')) == {"a": [1, 2]}
