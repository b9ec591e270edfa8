"""Small secrets bound to one row (TOTP seeds).

A user's TOTP seed is sealed with AES-256-GCM under a key derived (HKDF) from a master
key for this purpose only; the associated data binds it to its purpose and row, so a
sealed seed copied onto another user fails to open. Stored as text:
"s1:<master key id>:<base64url(nonce | ciphertext + tag)>".
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from practice.keys.keyring import Keyring

SEALED_PREFIX = "s1"
TOTP_PURPOSE = "totp"  # users' TOTP seeds (practice/auth/totp.py)


class SealedSecretError(Exception):
    """A sealed secret cannot be opened: malformed, moved to another row, or key missing."""


def _purpose_key(master_key: bytes, purpose: str) -> bytes:
    info = f"practice sealed secret:{purpose}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)


def seal_secret(keyring: Keyring, purpose: str, bound_to: str, plaintext: bytes) -> str:
    """Encrypt a small secret for `purpose`, bound to the row named by `bound_to`."""
    nonce = secrets.token_bytes(12)
    aead = AESGCM(_purpose_key(keyring.active_key, purpose))
    sealed = aead.encrypt(nonce, plaintext, f"{purpose}|{bound_to}".encode())
    body = base64.urlsafe_b64encode(nonce + sealed).decode()
    return f"{SEALED_PREFIX}:{keyring.active_id}:{body}"


def open_secret(keyring: Keyring, purpose: str, bound_to: str, text: str) -> bytes:
    """Decrypt what `seal_secret` wrote for the same purpose and row; else SealedSecretError."""
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
    aead = AESGCM(_purpose_key(keyring.keys[key_id], purpose))
    try:
        return aead.decrypt(blob[:12], blob[12:], f"{purpose}|{bound_to}".encode())
    except (InvalidTag, ValueError):
        raise SealedSecretError(f"sealed {purpose} secret failed its integrity check") from None


def sealed_secret_key_id(text: str) -> str | None:
    """The master key id a sealed secret names, or None when it is not a sealed secret."""
    prefix, _, rest = text.partition(":")
    key_id = rest.partition(":")[0]
    return key_id if prefix == SEALED_PREFIX and key_id else None


def reseal_secret(keyring: Keyring, purpose: str, bound_to: str, text: str) -> str:
    """Open a sealed secret with whichever key it names and seal it under the active key."""
    return seal_secret(keyring, purpose, bound_to, open_secret(keyring, purpose, bound_to, text))
