"""Master key rotation and retirement: the keyring file first, then rewrap in batches.

Crash safety: a new master key is written to the keyring file (atomically, fsynced)
before any data key is wrapped under it, and the old key stays in the file until it is
retired, which is refused while anything still references it. Each batch rewraps and
commits its rows in one transaction, so a kill at any point leaves every data key
wrapped by a key that is in the file; rerunning continues with what is left.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from practice.database import utcnow
from practice.keys.envelope import rewrap_data_key
from practice.keys.errors import IntegrityError, UnknownKeyError
from practice.keys.keyring import MASTER_KEY_BYTES, Keyring, load_keyring, new_key_id, save_keyring
from practice.keys.models import ClientDataKey
from practice.keys.sealed import SEALED_PREFIX, TOTP_PURPOSE, SealedSecretError, reseal_secret

DEFAULT_BATCH = 500
_keys = ClientDataKey.__table__
# Where sealed secrets are kept: users' TOTP seeds (practice/auth/totp.py). A table of
# the columns used, not the User model: auth imports keys, so keys must not import auth.
USERS = sa.table("users", sa.column("id", sa.Uuid), sa.column("totp_secret", sa.String(255)))


class RotationError(Exception):
    """Rotation or retirement cannot go ahead; the message says why and what to do."""


def keyring_file(source: str | None) -> Path:
    """The keyring file behind PRACTICE_KEYRING; inline JSON cannot be rewritten."""
    if not source:
        raise RotationError("PRACTICE_KEYRING is not set")
    if str(source).lstrip().startswith("{"):
        raise RotationError(
            "PRACTICE_KEYRING holds the keyring inline; rotation must rewrite a keyring "
            "file: pass --keyring PATH (then point PRACTICE_KEYRING at it)"
        )
    return Path(source)


def key_usage(session: Session) -> dict[str, int]:
    """How many live (not shredded) data keys each master key id wraps."""
    rows = session.execute(
        sa.select(_keys.c.master_key_id, sa.func.count())
        .where(_keys.c.wrapped_key.is_not(None))
        .group_by(_keys.c.master_key_id)
    )
    return {key_id: count for key_id, count in rows}


def shredded_count(session: Session) -> int:
    """How many data keys have been destroyed."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(_keys).where(_keys.c.wrapped_key.is_(None))
    )


def _sealed_with(key_id: str):
    """Users whose sealed TOTP seed names master key `key_id`."""
    return USERS.c.totp_secret.startswith(f"{SEALED_PREFIX}:{key_id}:", autoescape=True)


def secret_usage(session: Session, key_id: str) -> int:
    """How many sealed user secrets (TOTP seeds) name master key `key_id`."""
    return session.scalar(sa.select(sa.func.count()).select_from(USERS).where(_sealed_with(key_id)))


def pending_count(session: Session, active_id: str) -> int:
    """Live data keys and sealed user secrets not yet on the active master key."""
    data_keys = session.scalar(
        sa.select(sa.func.count())
        .select_from(_keys)
        .where(_keys.c.wrapped_key.is_not(None), _keys.c.master_key_id != active_id)
    )
    return data_keys + session.scalar(
        sa.select(sa.func.count()).select_from(USERS).where(_secret_not_on(active_id))
    )


@dataclass(frozen=True)
class MissingKeys:
    """Master keys that stored data names but the keyring lacks (ids and counts only)."""

    data_keys: dict[str, int]  # master key id -> live data keys it wraps
    secrets: int  # sealed user secrets naming a key the keyring lacks

    def __bool__(self) -> bool:
        return bool(self.data_keys or self.secrets)

    @property
    def pending_on_missing(self) -> int:
        return sum(self.data_keys.values()) + self.secrets


def missing_keys(session: Session, keyring: Keyring) -> MissingKeys:
    """What stored data needs from the keyring that it does not hold."""
    data_keys = {k: n for k, n in key_usage(session).items() if k not in keyring.keys}
    on_known = [_sealed_with(key_id) for key_id in keyring.keys]
    secrets_count = session.scalar(
        sa.select(sa.func.count())
        .select_from(USERS)
        .where(USERS.c.totp_secret.is_not(None), sa.not_(sa.or_(*on_known)))
    )
    return MissingKeys(data_keys, secrets_count)


def _secret_not_on(active_id: str):
    return sa.and_(
        USERS.c.totp_secret.is_not(None),
        sa.not_(USERS.c.totp_secret.startswith(f"{SEALED_PREFIX}:{active_id}:", autoescape=True)),
    )


def reseal_user_secrets(
    session: Session, keyring: Keyring, batch_size: int = DEFAULT_BATCH
) -> RewrapResult:
    """Reseal every user's TOTP seed under the active master key, one transaction per batch.

    A seed that cannot be opened (damaged, or its key missing) is left as it is and
    reported by user id, so its master key cannot be retired until the user re-enrols.
    """
    result, last_id = RewrapResult(), None
    users = USERS
    statement = (
        sa.update(users)
        .where(users.c.id == sa.bindparam("b_id"), users.c.totp_secret == sa.bindparam("b_old"))
        .values(totp_secret=sa.bindparam("b_new"))
    )  # compare-and-set: a seed changed meanwhile (re-enrolment) is left to its new value
    while True:
        query = sa.select(USERS.c.id, USERS.c.totp_secret).where(_secret_not_on(keyring.active_id))
        if last_id is not None:  # a walk in id order: skipped seeds are not met again
            query = query.where(USERS.c.id > last_id)
        rows = session.execute(query.order_by(USERS.c.id).limit(batch_size)).all()
        if not rows:
            break
        params = []
        for user_id, sealed in rows:
            try:
                resealed = reseal_secret(keyring, TOTP_PURPOSE, str(user_id), sealed)
            except SealedSecretError:
                result.failed.append(str(user_id))
                continue
            params.append({"b_id": user_id, "b_old": sealed, "b_new": resealed})
        if params:
            session.execute(statement, params)
        result.rewrapped += len(params)
        session.commit()
        last_id = rows[-1].id
    return result


def add_master_key(path: Path) -> Keyring:
    """Add a fresh master key to the keyring file and make it active (atomic write)."""
    keyring = load_keyring(path)
    new_id = new_key_id()
    while new_id in keyring.keys:
        new_id = new_key_id()
    grown = Keyring(
        active_id=new_id,
        keys={**keyring.keys, new_id: secrets.token_bytes(MASTER_KEY_BYTES)},
        path=path,
    )
    save_keyring(grown, path)
    return load_keyring(path)


@dataclass
class RewrapResult:
    rewrapped: int = 0
    failed: list[str] = field(default_factory=list)


def rewrap_pending(
    session: Session,
    keyring: Keyring,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int], None] | None = None,
) -> RewrapResult:
    """Rewrap every live data key not on the active master key, one transaction per batch.

    A data key whose master key is missing from the keyring stops the run (nothing is
    lost; restore the key and rerun). One that fails its integrity check is left as it
    is and reported, so its old master key cannot be retired.
    """
    result = RewrapResult()
    active, last_id = keyring.active_id, None
    statement = (
        sa.update(_keys)
        .where(_keys.c.id == sa.bindparam("b_id"), _keys.c.master_key_id == sa.bindparam("b_old"))
        .values(
            master_key_id=sa.bindparam("b_master"),
            wrapped_key=sa.bindparam("b_wrapped"),
            rewrapped_at=sa.bindparam("b_at"),
        )
    )
    while True:
        query = (
            sa.select(
                _keys.c.id,
                _keys.c.practice_id,
                _keys.c.client_id,
                _keys.c.master_key_id,
                _keys.c.wrapped_key,
            )
            .order_by(_keys.c.id)
            .limit(batch_size)
        )  # a plain walk in key order: filtering in SQL made planners sort every batch
        if last_id is not None:
            query = query.where(_keys.c.id > last_id)
        rows = session.execute(query).all()
        if not rows:
            break
        now, params = utcnow(), []
        for row in rows:
            if row.wrapped_key is None or row.master_key_id == active:
                continue
            try:
                master_id, wrapped = rewrap_data_key(
                    keyring, row.practice_id, row.client_id, row.id, row.master_key_id,
                    row.wrapped_key,
                )  # fmt: skip
            except UnknownKeyError:
                session.rollback()
                raise
            except IntegrityError:
                result.failed.append(str(row.id))
                continue
            params.append(
                {"b_id": row.id, "b_old": row.master_key_id, "b_master": master_id,
                 "b_wrapped": wrapped, "b_at": now}
            )  # fmt: skip
        if params:
            session.execute(statement, params)
        session.commit()
        result.rewrapped += len(params)
        last_id = rows[-1].id
        if progress:
            progress(result.rewrapped)
    return result


def retire_master_key(session: Session, path: Path, key_id: str) -> Keyring:
    """Remove `key_id` from the keyring file; RotationError while it is active or in use."""
    keyring = load_keyring(path)
    if key_id not in keyring.keys:
        raise RotationError(f"master key {key_id!r} is not in the keyring {path}")
    if key_id == keyring.active_id:
        raise RotationError(
            f"master key {key_id!r} is the active key and can never be retired; "
            "run `flask keys rotate` first"
        )
    in_use = key_usage(session).get(key_id, 0)
    if in_use:
        raise RotationError(
            f"master key {key_id!r} still wraps {in_use} data key(s); "
            "run `flask keys rotate --resume` and retire it afterwards"
        )
    sealed = secret_usage(session, key_id)
    if sealed:
        raise RotationError(
            f"master key {key_id!r} still seals {sealed} user secret(s) (TOTP); run "
            "`flask keys rotate --resume`, and have users whose seed cannot be opened re-enrol"
        )
    remaining = {k: v for k, v in keyring.keys.items() if k != key_id}
    smaller = Keyring(active_id=keyring.active_id, keys=remaining, path=path)
    save_keyring(smaller, path)
    return load_keyring(path)
