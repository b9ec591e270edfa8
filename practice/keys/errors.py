"""What goes wrong with keys and encrypted values. Messages carry ids at most, never
plaintext."""

from __future__ import annotations


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
