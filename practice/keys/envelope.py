"""Envelope encryption: client data keys wrapped by a master key, and values encrypted
with them.

Each client has a random 256-bit data key, stored only wrapped (AES-256-GCM) by a
master key; the wrap's associated data binds practice, client, data key id and master
key id. Every encrypted value is

    format byte | data key id (16 bytes) | nonce (12 bytes) | ciphertext + tag

with associated data binding the header, practice, client, table, column and row id;
format 0x02 (rows with a `version`: notes, scripts) binds the row's version too, so an
older value of the same row put back fails to decrypt. Format 0x01 values (unversioned
rows, and versioned rows written before 0x02 existed) still open.
The value names its key: there is no trial decryption.
"""

from __future__ import annotations

import secrets
import struct
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from practice.keys.errors import (
    IntegrityError,
    MalformedValueError,
    ShreddedKeyError,
    UnknownDataKeyError,
    UnknownKeyError,
)
from practice.keys.keyring import Keyring

DATA_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
VALUE_FORMAT = 0x01  # bound to practice, client, table, column and row
VERSIONED_FORMAT = 0x02  # … and to the row's version
VALUE_FORMATS = (VALUE_FORMAT, VERSIONED_FORMAT)
WRAP_FORMAT = 0x01
KEY_REF_BYTES = 16
VALUE_HEADER_BYTES = 1 + KEY_REF_BYTES
MIN_VALUE_BYTES = VALUE_HEADER_BYTES + NONCE_BYTES + TAG_BYTES
WRAPPED_KEY_BYTES = 1 + NONCE_BYTES + DATA_KEY_BYTES + TAG_BYTES
_UUID_PART = struct.pack(">I", 16)  # the length prefix of a row id in associated data
_VERSION_PART = struct.pack(">I", 8)  # … and of a row version (8 bytes, big-endian)
MAX_VERSION = 2**63 - 1


def _ad(purpose: bytes, *parts: bytes | str | uuid.UUID) -> bytes:
    """Canonical associated data: every part length-prefixed, so no two tuples collide."""
    out = [purpose]
    for part in parts:
        if isinstance(part, uuid.UUID):
            raw = part.bytes
        elif isinstance(part, str):
            raw = part.encode()
        else:
            raw = bytes(part)
        out.append(struct.pack(">I", len(raw)) + raw)
    return b"".join(out)


def _uuid(value, name: str) -> uuid.UUID:
    if not isinstance(value, uuid.UUID):
        raise TypeError(f"{name} must be a uuid.UUID")
    return value


def generate_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return secrets.token_bytes(DATA_KEY_BYTES)


def _wrap_ad(practice_id, client_id, data_key_id, master_key_id: str) -> bytes:
    return _ad(b"practice/data-key/v1", practice_id, client_id, data_key_id, master_key_id)


def wrap_data_key(
    keyring: Keyring,
    practice_id: uuid.UUID,
    client_id: uuid.UUID,
    data_key_id: uuid.UUID,
    data_key: bytes,
) -> tuple[str, bytes]:
    """Wrap `data_key` under the active master key: (master key id, wrapped bytes)."""
    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError("a data key is 32 bytes")
    master_id = keyring.active_id
    nonce = secrets.token_bytes(NONCE_BYTES)
    ad = _wrap_ad(practice_id, client_id, data_key_id, master_id)
    sealed = AESGCM(keyring.key(master_id)).encrypt(nonce, data_key, ad)
    return master_id, bytes([WRAP_FORMAT]) + nonce + sealed


def unwrap_data_key(
    keyring: Keyring,
    practice_id: uuid.UUID,
    client_id: uuid.UUID,
    data_key_id: uuid.UUID,
    master_key_id: str,
    wrapped: bytes | None,
) -> bytes:
    """The data key inside `wrapped`; IntegrityError (or UnknownKeyError) when it cannot be."""
    where = {"table": "client_data_keys", "row_id": data_key_id, "client_id": client_id}
    if wrapped is None:
        raise ShreddedKeyError(f"data key {data_key_id} was destroyed", **where)
    wrapped = bytes(wrapped)
    if len(wrapped) != WRAPPED_KEY_BYTES or wrapped[0] != WRAP_FORMAT:
        raise MalformedValueError(f"wrapped data key {data_key_id} is malformed", **where)
    try:
        master = keyring.key(master_key_id)
    except UnknownKeyError as exc:
        raise UnknownKeyError(
            f"data key {data_key_id} is wrapped by master key {master_key_id!r}, "
            "which is not in the keyring",
            **where,
        ) from exc
    nonce, sealed = wrapped[1 : 1 + NONCE_BYTES], wrapped[1 + NONCE_BYTES :]
    try:
        return AESGCM(master).decrypt(
            nonce, sealed, _wrap_ad(practice_id, client_id, data_key_id, master_key_id)
        )
    except InvalidTag:
        raise IntegrityError(
            f"data key {data_key_id} failed its integrity check", **where
        ) from None


def rewrap_data_key(
    keyring: Keyring,
    practice_id: uuid.UUID,
    client_id: uuid.UUID,
    data_key_id: uuid.UUID,
    master_key_id: str,
    wrapped: bytes,
) -> tuple[str, bytes]:
    """Unwrap under its master key and wrap again under the active one."""
    key = unwrap_data_key(keyring, practice_id, client_id, data_key_id, master_key_id, wrapped)
    return wrap_data_key(keyring, practice_id, client_id, data_key_id, key)


MIN_PADDED_BYTES = 256


def padded_length(length: int) -> int:
    """The length a plaintext of `length` bytes is padded to before encryption: at least
    MIN_PADDED_BYTES, above that the Padmé scheme (Nikitin et al., 2019), which leaks
    O(log log n) bits of the length and costs at most 12 % more bytes."""
    if length <= MIN_PADDED_BYTES:
        return MIN_PADDED_BYTES
    exponent = length.bit_length() - 1  # floor(log2(length))
    mantissa_bits = exponent.bit_length()  # floor(log2(exponent)) + 1
    mask = (1 << (exponent - mantissa_bits)) - 1
    return (length + mask) & ~mask


def pad_json(plaintext: bytes) -> bytes:
    """Pad serialised JSON with trailing spaces (which every JSON parser skips), so a
    ciphertext's length tells little about the note's: "a few words" and "a page" no
    longer differ by exactly their number of characters."""
    return plaintext + b" " * (padded_length(len(plaintext)) - len(plaintext))


def key_reference(blob: bytes) -> uuid.UUID:
    """The data key id an encrypted value names; MalformedValueError for a foreign blob."""
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise MalformedValueError("an encrypted value must be bytes")
    blob = bytes(blob)
    if len(blob) < MIN_VALUE_BYTES:
        raise MalformedValueError("encrypted value is truncated")
    if blob[0] not in VALUE_FORMATS:
        raise MalformedValueError(f"encrypted value has unknown format byte 0x{blob[0]:02x}")
    return uuid.UUID(bytes=blob[1:VALUE_HEADER_BYTES])


class ValueCipher:
    """Encrypts and decrypts values under one client's unwrapped data key."""

    __slots__ = ("_aead", "_columns", "_headers", "_key_bytes", "_prefixes", "client_id")
    __slots__ += ("data_key_id", "practice_id")

    def __init__(
        self, practice_id: uuid.UUID, client_id: uuid.UUID, data_key_id: uuid.UUID, key: bytes
    ):
        self.practice_id = _uuid(practice_id, "practice_id")
        self.client_id = _uuid(client_id, "client_id")
        self.data_key_id = _uuid(data_key_id, "data_key_id")
        self._aead = AESGCM(key)
        # The associated data of a value is _ad(purpose, header, practice, client, table,
        # column, row[, version]); all but row and version are fixed per cipher, format
        # and column, so they are built once (bulk decryption spent more time building
        # them than decrypting). The header carries the format byte, so a versioned value
        # relabelled 0x01 no longer opens.
        self._key_bytes = self.data_key_id.bytes
        self._headers = {f: bytes([f]) + self._key_bytes for f in VALUE_FORMATS}
        self._prefixes = {
            f: _ad(b"practice/value/v%d" % f, header, self.practice_id, self.client_id)
            for f, header in self._headers.items()
        }
        self._columns: dict[tuple[int, str, str], bytes] = {}

    def __repr__(self) -> str:
        return f"<ValueCipher client={self.client_id} key={self.data_key_id}>"

    def _value_ad(
        self, fmt: int, table: str, column: str, row_id: uuid.UUID, version: int | None
    ) -> bytes:
        head = self._columns.get((fmt, table, column))
        if head is None:
            if not table or not column:
                raise ValueError("table and column are required")
            head = self._prefixes[fmt] + _ad(b"", table, column)
            self._columns[(fmt, table, column)] = head
        ad = head + _UUID_PART + _uuid(row_id, "row_id").bytes
        if fmt == VALUE_FORMAT:
            return ad
        return ad + _VERSION_PART + struct.pack(">Q", version)

    def encrypt(
        self,
        table: str,
        column: str,
        row_id: uuid.UUID,
        plaintext: bytes,
        version: int | None = None,
    ) -> bytes:
        """Encrypt `plaintext` for exactly this table, column and row (and, when given, the
        row's version: format 0x02), with a fresh nonce."""
        if version is None:
            fmt = VALUE_FORMAT
        elif version.__class__ is int and 0 <= version <= MAX_VERSION:
            fmt = VERSIONED_FORMAT
        else:
            raise ValueError("version must be a whole number from 0 to 2**63-1")
        nonce = secrets.token_bytes(NONCE_BYTES)
        ad = self._value_ad(fmt, table, column, row_id, version)
        return self._headers[fmt] + nonce + self._aead.encrypt(nonce, plaintext, ad)

    def decrypt(
        self,
        table: str,
        column: str,
        row_id: uuid.UUID,
        blob: bytes,
        version: int | None = None,
    ) -> bytes:
        """The plaintext of `blob`; IntegrityError if it was altered or belongs elsewhere.

        A format 0x02 value opens only with the row's `version` it was written for; a
        0x01 value ignores `version` (written before versions were bound, or unversioned).
        """
        # The common case (a value of this key) is checked by comparing the header bytes;
        # anything else is parsed to say exactly what is wrong.
        if (
            blob.__class__ is not bytes
            or blob[1:VALUE_HEADER_BYTES] != self._key_bytes
            or blob[0] not in VALUE_FORMATS
        ):
            where = self._where(table, column, row_id)
            try:
                key_id = key_reference(blob)
            except MalformedValueError as exc:
                raise MalformedValueError(f"{table}.{column} of {row_id}: {exc}", **where) from None
            if key_id != self.data_key_id:
                raise UnknownDataKeyError(
                    f"{table}.{column} of {row_id} names data key {key_id}, "
                    "which is not this client's",
                    **where,
                )
            blob = bytes(blob)
        if len(blob) < MIN_VALUE_BYTES:
            raise MalformedValueError(
                f"{table}.{column} of {row_id}: encrypted value is truncated",
                **self._where(table, column, row_id),
            )
        fmt = blob[0]
        if fmt == VERSIONED_FORMAT and (
            version.__class__ is not int or not 0 <= version <= MAX_VERSION
        ):
            # Bound to a version, but the row has none to check it against.
            raise IntegrityError(
                f"{table}.{column} of {row_id} is bound to a version the row does not have",
                **self._where(table, column, row_id),
            )
        try:
            return self._aead.decrypt(
                blob[VALUE_HEADER_BYTES : VALUE_HEADER_BYTES + NONCE_BYTES],
                blob[VALUE_HEADER_BYTES + NONCE_BYTES :],
                self._value_ad(fmt, table, column, row_id, version),
            )
        except InvalidTag:
            raise IntegrityError(
                f"{table}.{column} of {row_id} failed its integrity check",
                **self._where(table, column, row_id),
            ) from None

    def _where(self, table: str, column: str, row_id) -> dict:
        return {"table": table, "column": column, "row_id": row_id, "client_id": self.client_id}
