"""The audit chain's state in one sentence, for the owner's audit page: the same check as
`flask audit verify` (practice.audit.verify.verify_chain), for the practice's own chain.

The walk costs time in proportion to the chain (about 80 µs an entry on SQLite,
bench/audit_page.py), so the page runs it by itself only for chains up to
AUTO_CHECK_ENTRIES and otherwise when the owner asks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from practice.audit import verify
from practice.audit.models import AuditEntry

AUTO_CHECK_ENTRIES = 5000


@dataclass(frozen=True)
class ChainState:
    ok: bool
    checked: int
    sentence: str
    bad_seq: int | None = None


def chain_length(session: Session, practice_id: uuid.UUID) -> int:
    """How many entries the practice's chain holds (its last seq: one index lookup)."""
    last = session.scalar(
        sa.select(sa.func.max(AuditEntry.seq)).where(AuditEntry.chain_id == practice_id)
    )
    return last or 0


def chain_state(session: Session, practice_id: uuid.UUID) -> ChainState:
    """Verify the practice's chain and say what was found."""
    result = verify.verify_chain(session, practice=practice_id)
    if result.ok:
        entries = "entry" if result.checked == 1 else "entries"
        sentence = f"Intact, {result.checked} {entries}"
        if result.pending:
            # Deferred sealing: the newest entries join the chain within seconds.
            sentence += f", and {result.pending} recorded moments ago that wait to be sealed"
        return ChainState(True, result.checked, sentence + ".")
    where = f"entry {result.bad_seq}" if result.bad_seq is not None else "the chain"
    sentence = f"Broken at {where}: {result.problem}. Run `flask audit verify` on the server."
    return ChainState(False, result.checked, sentence, result.bad_seq)
