"""The keyring: master keys (key-encryption keys) by id, kept outside the database as JSON
`{"active": "<id>", "keys": {"<id>": "<base64 of 32 bytes>"}}`; the active one wraps new
data keys."""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from practice.files import write_private
from practice.keys.errors import KeyringError, UnknownKeyError

MASTER_KEY_BYTES = 32


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
