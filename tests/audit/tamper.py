# ruff: noqa: S608 (tampering SQL is built from fixed column names)
"""What an attacker with database superuser rights would do to the audit log.

Every helper runs inside the test's transaction, which is rolled back afterwards.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import sqlalchemy as sa

from practice.audit import service as audit

COLUMNS = (
    "chain_id, occurred_at, practice_id, actor_id, action, object_type, object_id, address, "
    "outcome, prev_hash, entry_hash"
)


def _in(session, chain: uuid.UUID | None = None) -> str:
    """SQL naming one chain (the deployment chain unless told), as the database stores it."""
    chain = chain or audit.DEPLOYMENT_CHAIN
    value = chain.hex if session.get_bind().dialect.name == "sqlite" else str(chain)
    return f"chain_id = '{value}'"


def bypass_append_only(session) -> None:
    """Switch off the database's refusal of UPDATE/DELETE on the log and of DELETE on its
    checkpoint, as a superuser could."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
        )
        session.execute(
            sa.text("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_no_delete")
        )
    else:
        session.execute(sa.text("DROP TRIGGER audit_entries_no_update"))
        session.execute(sa.text("DROP TRIGGER audit_entries_no_delete"))
        session.execute(sa.text("DROP TRIGGER audit_checkpoint_no_delete"))


def bypass_pending_triggers(session) -> None:
    """Switch off the refusal of UPDATE on the queue of entries waiting to be sealed."""
    session.execute(sa.text("ALTER TABLE audit_pending DISABLE TRIGGER audit_pending_no_update"))


def delete_checkpoint(session, chain: uuid.UUID | None = None) -> None:
    """Remove every checkpoint row, or `chain`'s (the triggers bypassed first)."""
    bypass_append_only(session)
    where = f" WHERE {_in(session, chain)}" if chain else ""
    session.execute(sa.text("DELETE FROM audit_checkpoint" + where))


def write_events(session, count: int, practice_id: uuid.UUID | None = None) -> None:
    """`count` committed audit events, one commit each."""
    for _ in range(count):
        audit.record(
            session,
            "test.event",
            object_type="thing",
            object_id=uuid.uuid4(),
            practice_id=practice_id,
        )
        session.commit()


def squat(session, seq: int) -> None:
    """Copy entry `seq - 1` to `seq` without moving the checkpoint: the chain's next
    append then collides with it."""
    session.execute(
        sa.text(
            f"INSERT INTO audit_entries (seq, {COLUMNS}) SELECT :seq, {COLUMNS} "
            f"FROM audit_entries WHERE seq = :seq - 1 AND {_in(session)}"
        ),
        {"seq": seq},
    )


def row(session, seq: int, chain: uuid.UUID | None = None) -> dict:
    return dict(
        session.execute(
            sa.text(
                f"SELECT seq, {COLUMNS} FROM audit_entries WHERE seq = :s AND {_in(session, chain)}"
            ),
            {"s": seq},
        )
        .mappings()
        .one()
    )


def sha256_chain_hash(prev_hash: str, entry: dict) -> str:
    """The hash an attacker can compute without the key (plain SHA-256)."""
    body = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def edit(session, seq: int, chain: uuid.UUID | None = None) -> None:
    session.execute(
        sa.text(
            "UPDATE audit_entries SET outcome = 'success', action = 'auth.login' "
            f"WHERE seq = :s AND {_in(session, chain)}"
        ),
        {"s": seq},
    )


def edit_and_rehash(session, seq: int) -> None:
    """Edit and recompute this entry's hash as plain SHA-256 (the attacker lacks the key)."""
    current = row(session, seq)
    current["action"] = "auth.logout"
    fields = {k: current[k] for k in ("seq", "action", "object_type", "object_id", "outcome")}
    session.execute(
        sa.text(
            "UPDATE audit_entries SET action = :a, entry_hash = :h "
            f"WHERE seq = :s AND {_in(session)}"
        ),
        {"a": "auth.logout", "h": sha256_chain_hash(current["prev_hash"], fields), "s": seq},
    )


def delete(session, *seqs: int, chain: uuid.UUID | None = None) -> None:
    for seq in seqs:
        session.execute(
            sa.text(f"DELETE FROM audit_entries WHERE seq = :s AND {_in(session, chain)}"),
            {"s": seq},
        )


def swap(session, a: int, b: int) -> None:
    """Swap two entries' contents (every column but seq): a reordering."""
    first, second = row(session, a), row(session, b)
    assignments = ", ".join(f"{c.strip()} = :{c.strip()}" for c in COLUMNS.split(","))
    for seq, values in ((a, second), (b, first)):
        params = {k: v for k, v in values.items() if k != "seq"}
        session.execute(
            sa.text(f"UPDATE audit_entries SET {assignments} WHERE seq = :seq AND {_in(session)}"),
            {**params, "seq": seq},
        )


def insert_after(session, seq: int) -> None:
    """Shift later entries up by one and insert a forged entry at seq + 1."""
    session.execute(
        sa.text(f"UPDATE audit_entries SET seq = seq + 1000000 WHERE seq > :s AND {_in(session)}"),
        {"s": seq},
    )
    session.execute(
        sa.text(
            f"UPDATE audit_entries SET seq = seq - 999999 WHERE seq > 1000000 AND {_in(session)}"
        ),
    )
    _insert(session, seq + 1, row(session, seq)["entry_hash"])


def append(session, after: int) -> None:
    """Add a forged entry at the end of the chain."""
    _insert(session, after + 1, row(session, after)["entry_hash"])


def _insert(session, seq: int, prev_hash: str) -> None:
    template = row(session, 1)
    values = {**template, "seq": seq, "prev_hash": prev_hash, "action": "auth.login"}
    values["entry_hash"] = sha256_chain_hash(prev_hash, {"seq": seq})
    names = ", ".join(values)
    session.execute(
        sa.text(
            f"INSERT INTO audit_entries ({names}) VALUES ({', '.join(':' + n for n in values)})"
        ),
        values,
    )


def insert_after_in(session, chain: uuid.UUID, seq: int, copy_of: tuple[uuid.UUID, int]) -> None:
    """Copy another chain's entry `copy_of` (chain, seq) onto `chain` after entry `seq`,
    linked to it: an entry moved between practices' chains."""
    values = row(session, copy_of[1], copy_of[0])
    values.update(seq=seq + 1, prev_hash=row(session, seq, chain)["entry_hash"])
    values["chain_id"] = chain.hex if session.get_bind().dialect.name == "sqlite" else chain
    names = ", ".join(values)
    session.execute(
        sa.text(
            f"INSERT INTO audit_entries ({names}) VALUES ({', '.join(':' + n for n in values)})"
        ),
        values,
    )
