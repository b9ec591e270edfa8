"""Client data keys in the database, and sealing clinical values with them.

`seal` / `unseal` encrypt one JSON value bound to its client, table, column and row,
and to the row's version for rows that have one (notes, scripts): seal with the version
the row will have once written, unseal with the version it has.
`client_cipher` unwraps a client's data key once for bulk work (theme history).
Unwrapped keys are cached on the database session (`session.info`) only: the cache
dies with the request's session and is dropped on any rollback, so a key created in a
rolled-back transaction can never be used. practice/keys/envelope.py does the cryptography.
"""

from __future__ import annotations

import json
import logging
import os
import uuid

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlalchemy.orm import Session

from practice.database import utcnow
from practice.extensions import db
from practice.keys.envelope import (
    ValueCipher,
    generate_data_key,
    key_reference,
    pad_json,
    unwrap_data_key,
    wrap_data_key,
)
from practice.keys.errors import (
    IntegrityError,
    KeyringError,
    MalformedValueError,
    ShreddedKeyError,
    UnknownDataKeyError,
)
from practice.keys.keyring import Keyring, load_keyring
from practice.keys.models import ClientDataKey

log = logging.getLogger("practice.keys")

CACHE = "practice.client_ciphers"
_STAMP = "keyring_stamp"


def current_keyring() -> Keyring:
    """The app's keyring, re-read when its file changed (e.g. after `flask keys rotate`).

    Lets running instances learn a new active master key without a restart.
    """
    app = current_app
    keyring: Keyring = app.extensions["keyring"]
    if keyring.path is None:
        return keyring
    try:
        st = os.stat(keyring.path)
    except OSError:
        return keyring
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    seen = app.extensions.get(_STAMP)
    if seen is not None and seen[0] is keyring and seen[1] == stamp:
        return keyring
    try:
        fresh = load_keyring(keyring.path)
    except KeyringError as exc:
        log.warning("keeping the loaded keyring: %s", exc)
        return keyring
    app.extensions["keyring"] = fresh
    app.extensions[_STAMP] = (fresh, stamp)
    return fresh


_UNREAD = object()  # ClientCipher's data key row: not read yet


class ClientCipher:
    """One client's data key, unwrapped at most once; seals and unseals JSON values.
    `key`: the client's data key row when the caller's own query brought it (None: the
    client has none), so that it is not looked up again."""

    def __init__(self, session: Session, practice_id: uuid.UUID, client_id: uuid.UUID, key=_UNREAD):
        self._session = session
        self.practice_id = practice_id
        self.client_id = client_id
        self._cipher: ValueCipher | None = None
        self._shredded_key_id: uuid.UUID | None = None
        self._loaded = False
        self._key = key

    def __repr__(self) -> str:
        return f"<ClientCipher client={self.client_id}>"

    def _load(self) -> None:
        row, self._key = self._key, _UNREAD  # what the caller brought serves once
        if row is _UNREAD:
            row = self._session.scalar(
                sa.select(ClientDataKey).where(ClientDataKey.client_id == self.client_id)
            )
        self._loaded = True
        if row is None:
            return
        self._adopt(row)

    def _adopt(self, row: ClientDataKey) -> None:
        if row.practice_id != self.practice_id:
            raise IntegrityError(
                f"data key {row.id} belongs to another practice", client_id=self.client_id
            )
        if row.wrapped_key is None:
            if row.destroyed_at is None:  # not `flask clients shred`: someone removed it
                raise IntegrityError(
                    f"data key {row.id} has no wrapped key and was never shredded",
                    client_id=self.client_id,
                )
            self._shredded_key_id = row.id
            return
        key = unwrap_data_key(
            current_keyring(),
            self.practice_id,
            self.client_id,
            row.id,
            row.master_key_id,
            row.wrapped_key,
        )
        self._cipher = ValueCipher(self.practice_id, self.client_id, row.id, key)

    def _create(self) -> None:
        keyring = current_keyring()
        key_id = uuid.uuid4()
        key = generate_data_key()
        master_id, wrapped = wrap_data_key(keyring, self.practice_id, self.client_id, key_id, key)
        row = ClientDataKey(
            id=key_id,
            practice_id=self.practice_id,
            client_id=self.client_id,
            master_key_id=master_id,
            wrapped_key=wrapped,
        )
        try:
            with self._session.begin_nested():
                self._session.add(row)
        except DatabaseIntegrityError:
            # A concurrent request created this client's key first: use theirs.
            self._loaded = False
            self._load()
            return
        self._cipher = ValueCipher(self.practice_id, self.client_id, key_id, key)

    def _shredded(self, table: str, column: str, row_id) -> ShreddedKeyError:
        return ShreddedKeyError(
            f"the data key of client {self.client_id} was destroyed",
            table=table,
            column=column,
            row_id=row_id,
            client_id=self.client_id,
        )

    def seal(
        self, table: str, column: str, row_id: uuid.UUID, value, version: int | None = None
    ) -> bytes:
        """JSON-serialise `value`, pad it (pad_json) and encrypt it for this table,
        column and row (and `version`, for versioned rows)."""
        plaintext = pad_json(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
        if not self._loaded:
            self._load()
        if self._shredded_key_id is not None:
            raise self._shredded(table, column, row_id)
        if self._cipher is None:
            self._create()
        assert self._cipher is not None
        return self._cipher.encrypt(table, column, row_id, plaintext, version)

    def unseal(
        self, table: str, column: str, row_id: uuid.UUID, blob: bytes, version: int | None = None
    ):
        """Decrypt `blob` and parse its JSON; IntegrityError when it cannot be trusted
        (also when it was written for another `version` of a versioned row)."""
        if blob is None:
            raise MalformedValueError(
                "encrypted value is missing", **self._where(table, column, row_id)
            )
        if self._cipher is None:
            self._check_reference(table, column, row_id, blob)
        # With the key loaded, decrypt itself refuses malformed values and foreign keys.
        plaintext = self._cipher.decrypt(table, column, row_id, blob, version)
        try:
            return json.loads(plaintext)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise IntegrityError(
                f"{table}.{column} of {row_id} is not a sealed JSON value",
                **self._where(table, column, row_id),
            ) from None

    def _where(self, table: str, column: str, row_id) -> dict:
        return {"table": table, "column": column, "row_id": row_id, "client_id": self.client_id}

    def _check_reference(self, table: str, column: str, row_id, blob: bytes) -> None:
        """Before the first decryption: load the key, and refuse a value it cannot open."""
        where = self._where(table, column, row_id)
        try:
            key_id = key_reference(blob)
        except MalformedValueError as exc:
            raise MalformedValueError(f"{table}.{column} of {row_id}: {exc}", **where) from None
        if not self._loaded:
            self._load()
        if self._shredded_key_id is not None and key_id == self._shredded_key_id:
            raise self._shredded(table, column, row_id)
        if self._cipher is None:
            raise UnknownDataKeyError(
                f"{table}.{column} of {row_id} names data key {key_id}, which is not this client's",
                **where,
            )


def _cache(session) -> dict[uuid.UUID, ClientCipher]:
    return session.info.setdefault(CACHE, {})


def client_cipher(client) -> ClientCipher:
    """The client's cipher for this database session: the data key is unwrapped once."""
    cache = _cache(db.session)
    cipher = cache.get(client.id)
    if cipher is None:
        cipher = ClientCipher(db.session(), client.practice_id, client.id)
        cache[client.id] = cipher
    return cipher


def client_cipher_with_key(practice_id: uuid.UUID, client_id: uuid.UUID, key) -> ClientCipher:
    """client_cipher for a reader whose own query brought the client's data key row
    (`key`: anything with ClientDataKey's id, practice_id, master_key_id, wrapped_key and
    destroyed_at; None when the client has none), so it is not looked up again. A cipher
    the session holds already for this client is used as it is."""
    cache = _cache(db.session)
    cipher = cache.get(client_id)
    if cipher is None:
        cipher = ClientCipher(db.session(), practice_id, client_id, key)
        cache[client_id] = cipher
    return cipher


def seal(
    client, table: str, column: str, row_id: uuid.UUID, value, version: int | None = None
) -> bytes:
    """JSON-serialise `value` and encrypt it under the client's data key (created on first use)."""
    return client_cipher(client).seal(table, column, row_id, value, version)


def unseal(
    client, table: str, column: str, row_id: uuid.UUID, blob: bytes, version: int | None = None
):
    """Decrypt and JSON-parse; IntegrityError when altered, moved, unknown, shredded
    or written for another version of the row."""
    return client_cipher(client).unseal(table, column, row_id, blob, version)


def forget_keys(session=None) -> None:
    """Drop every cached unwrapped key on `session` (default: the current one)."""
    (session if session is not None else db.session).info.pop(CACHE, None)


def destroy_client_key(client) -> ClientDataKey:
    """Crypto-shred: destroy the client's data key (a destroyed marker if none existed)."""
    session = db.session
    row = session.scalar(sa.select(ClientDataKey).where(ClientDataKey.client_id == client.id))
    if row is None:
        row = ClientDataKey(
            practice_id=client.practice_id,
            client_id=client.id,
            master_key_id=current_keyring().active_id,
        )
        session.add(row)
    row.wrapped_key = None
    row.destroyed_at = row.destroyed_at or utcnow()
    session.flush()
    forget_keys(session)
    return row


def _drop_cache_on_rollback(session: Session, _previous_transaction) -> None:
    session.info.pop(CACHE, None)


if not event.contains(Session, "after_soft_rollback", _drop_cache_on_rollback):
    event.listen(Session, "after_soft_rollback", _drop_cache_on_rollback)
