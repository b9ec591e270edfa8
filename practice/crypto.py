"""Keys and envelope encryption: the only module that touches key material.

The keyring holds master keys (key-encryption keys) outside the database, as JSON:
`{"active": "<id>", "keys": {"<id>": "<base64 of 32 bytes>"}}`.

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

import base64
import binascii
import json
import os
import secrets
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from practice.files import write_private

MASTER_KEY_BYTES = 32


class CryptoError(Exception):
    """Any failure to encrypt or decrypt. Messages carry ids at most, never plaintext."""


class KeyringError(CryptoError):
    """The keyring is missing, unreadable or malformed. The message names which."""


class IntegrityError(CryptoError):
    """A value or wrapped key cannot be authenticated: altered, moved, or its key is gone.

    `table`, `column`, `row_id` and `client_id` locate the failure (ids only) when known.
    """

    def __init__(self, message: str, **where):
        super().__init__(message)
        self.table: str | None = where.get("table")
        self.column: str | None = where.get("column")
        self.row_id = where.get("row_id")
        self.client_id = where.get("client_id")


class MalformedValueError(IntegrityError):
    """The blob is not a value this code wrote: wrong format byte, or truncated."""


class UnknownDataKeyError(IntegrityError):
    """The value names a data key that is not the client's (moved, or the key is unknown)."""


class ShreddedKeyError(IntegrityError):
    """The client's data key was destroyed (crypto-shredding); the text is unrecoverable."""


class UnknownKeyError(KeyringError, IntegrityError):
    """A wrapped data key names a master key that the keyring does not hold."""


@dataclass(frozen=True)
class Keyring:
    """Master keys by id, and which one wraps new data keys."""

    active_id: str
    keys: Mapping[str, bytes] = field(repr=False)
    path: Path | None = field(default=None, compare=False)

    def key(self, key_id: str) -> bytes:
        """The master key named `key_id`; UnknownKeyError when the keyring lacks it."""
        try:
            return self.keys[key_id]
        except KeyError:
            raise UnknownKeyError(f"master key {key_id!r} is not in the keyring") from None

    @property
    def active_key(self) -> bytes:
        return self.key(self.active_id)

    def to_json(self) -> str:
        return json.dumps(
            {
                "active": self.active_id,
                "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
            },
            indent=2,
        )


def new_key_id() -> str:
    """A short random id for a new master key."""
    return "k" + secrets.token_hex(4)


def parse_keyring(text: str, path: Path | None = None) -> Keyring:
    """Parse and validate keyring JSON; KeyringError says what is wrong (never a key)."""
    where = f" in {path}" if path else ""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError:
        raise KeyringError(f"keyring{where} is not valid JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), dict) or not raw["keys"]:
        raise KeyringError(f'keyring{where} needs {{"active": id, "keys": {{id: key}}}}')
    keys: dict[str, bytes] = {}
    for key_id, encoded in raw["keys"].items():
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise KeyringError(f"keyring{where}: key {key_id!r} is not base64") from None
        if len(key) != MASTER_KEY_BYTES:
            raise KeyringError(f"keyring{where}: key {key_id!r} is not 32 bytes")
        keys[str(key_id)] = key
    active = raw.get("active")
    if active not in keys:
        raise KeyringError(f"keyring{where}: active key {active!r} is not among its keys")
    return Keyring(active_id=active, keys=keys, path=path)


def load_keyring(source: str | os.PathLike) -> Keyring:
    """Load a keyring from a file path, or from inline JSON when `source` starts with '{'."""
    text = str(source)
    if text.lstrip().startswith("{"):
        return parse_keyring(text)
    path = Path(source)
    try:
        content = path.read_text()
    except OSError as exc:
        raise KeyringError(f"cannot read keyring {path}: {exc.strerror}") from None
    return parse_keyring(content, path)


def save_keyring(keyring: Keyring, path: Path) -> None:
    """Write the keyring atomically and durably with mode 0600: the rename must survive a
    crash before anything is wrapped under a new key."""
    write_private(path, keyring.to_json())


def generate_keyring(path: Path) -> Keyring:
    """Create a keyring file with one fresh master key (development only)."""
    key_id = new_key_id()
    keyring = Keyring(active_id=key_id, keys={key_id: secrets.token_bytes(MASTER_KEY_BYTES)})
    save_keyring(keyring, path)
    return Keyring(keyring.active_id, keyring.keys, path)


# --- envelope encryption -------------------------------------------------------------

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


# --- Small secrets bound to one row (TOTP seeds) -------------------------------------
# A user's TOTP seed is sealed with AES-256-GCM under a key derived (HKDF) from a master
# key for this purpose only; the associated data binds it to its purpose and row, so a
# sealed seed copied onto another user fails to open. Stored as text:
# "s1:<master key id>:<base64url(nonce | ciphertext + tag)>".

SEALED_PREFIX = "s1"


class SealedSecretError(Exception):
    """A sealed secret cannot be opened: malformed, moved to another row, or key missing."""


def _purpose_key(master_key: bytes, purpose: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    info = f"practice sealed secret:{purpose}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)


def seal_secret(keyring: Keyring, purpose: str, bound_to: str, plaintext: bytes) -> str:
    """Encrypt a small secret for `purpose`, bound to the row named by `bound_to`."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM as _AESGCM

    nonce = secrets.token_bytes(12)
    aead = _AESGCM(_purpose_key(keyring.active_key, purpose))
    sealed = aead.encrypt(nonce, plaintext, f"{purpose}|{bound_to}".encode())
    body = base64.urlsafe_b64encode(nonce + sealed).decode()
    return f"{SEALED_PREFIX}:{keyring.active_id}:{body}"


def open_secret(keyring: Keyring, purpose: str, bound_to: str, text: str) -> bytes:
    """Decrypt what `seal_secret` wrote for the same purpose and row; else SealedSecretError."""
    from cryptography.exceptions import InvalidTag as _InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM as _AESGCM

    prefix, _, rest = text.partition(":")
    key_id, _, body = rest.partition(":")
    if prefix != SEALED_PREFIX or not key_id or not body:
        raise SealedSecretError(f"sealed {purpose} secret is malformed")
    if key_id not in keyring.keys:
        raise SealedSecretError(f"sealed {purpose} secret names unknown master key {key_id!r}")
    try:
        blob = base64.urlsafe_b64decode(body.encode())
    except (binascii.Error, ValueError):
        raise SealedSecretError(f"sealed {purpose} secret is malformed") from None
    aead = _AESGCM(_purpose_key(keyring.keys[key_id], purpose))
    try:
        return aead.decrypt(blob[:12], blob[12:], f"{purpose}|{bound_to}".encode())
    except (_InvalidTag, ValueError):
        raise SealedSecretError(f"sealed {purpose} secret failed its integrity check") from None


def sealed_secret_key_id(text: str) -> str | None:
    """The master key id a sealed secret names, or None when it is not a sealed secret."""
    prefix, _, rest = text.partition(":")
    key_id = rest.partition(":")[0]
    return key_id if prefix == SEALED_PREFIX and key_id else None


def reseal_secret(keyring: Keyring, purpose: str, bound_to: str, text: str) -> str:
    """Open a sealed secret with whichever key it names and seal it under the active key."""
    return seal_secret(keyring, purpose, bound_to, open_secret(keyring, purpose, bound_to, text))
