"""The audit chain's state in one sentence, for the owner's audit page: the same check as
`flask audit verify` (practice.audit.verify.verify_chain), run on every view.

Once the log keeps one chain per practice (migration 0013), the owner sees their own
practice's chain; before that, the deployment's single chain.
"""

from __future__ import annotations

import inspect
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from practice.audit import verify


@dataclass(frozen=True)
class ChainState:
    ok: bool
    checked: int
    sentence: str
    bad_seq: int | None = None


def chain_state(session: Session, practice_id: uuid.UUID) -> ChainState:
    """Verify the chain the practice's entries are in and say what was found."""
    if "practice" in inspect.signature(verify.verify_chain).parameters:
        result = verify.verify_chain(session, practice=practice_id)
    else:
        result = verify.verify_chain(session)
    if result.ok:
        entries = "entry" if result.checked == 1 else "entries"
        return ChainState(True, result.checked, f"Intact, {result.checked} {entries}.")
    where = f"entry {result.bad_seq}" if result.bad_seq is not None else "the chain"
    sentence = f"Broken at {where}: {result.problem}. Run `flask audit verify` on the server."
    return ChainState(False, result.checked, sentence, result.bad_seq)
