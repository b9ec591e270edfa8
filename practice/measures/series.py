"""Reading a client's scores by opening a few sealed values, not one per form.

Each form is sealed with its answers and, beside them, a chunk of the series of its
client and instrument: `series` (measure id → [score, risk items, prorated]) for the
forms recorded since the chunk began, itself included, and `before`, the id of the form
whose chunk covers the forms recorded earlier (none for the first chunk). A chunk holds
at most CHUNK forms; the form after a full chunk starts a new one pointing back to it.
A reader opens the latest form of each instrument and follows `before` back, one value
per CHUNK forms; any form the chunks do not list (two recorded at the same moment, or a
chain broken some other way) is opened on its own, so the answer is always complete.
Forms never change once written, so an entry can never be stale. Every value stays
sealed under the client's key, and only the values opened are read from the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

import sqlalchemy as sa

from practice.extensions import db
from practice.measures.models import COLUMN, TABLE, MeasureScore

# Forms per chunk: each sealed value stays small (about 60 bytes an entry), and reading
# 300 forms opens about ten values.
CHUNK = 32


def entry(sealed: dict) -> list:
    """A form's line in a series: [score, risk items, prorated]."""
    return [sealed["score"], sealed["risk"], sealed["prorated"]]


def next_chunk(previous_id, previous: dict | None) -> tuple[dict, str | None]:
    """The (series, before) a new form starts from, given the latest form recorded so far
    (its id and opened value), or (empty, None) for the first form. The caller adds the
    new form's own entry to the series."""
    if previous is None:
        return {}, None
    carried = dict(previous.get("series") or {})
    carried.setdefault(str(previous_id), entry(previous))
    if len(carried) >= CHUNK:
        return {}, str(previous_id)
    return carried, previous.get("before")


def sealed_values_of(client) -> Callable[[list], dict]:
    """A function answering {measure id: sealed value} for ids of this client's forms."""

    def sealed_values(ids: list) -> dict:
        if not ids:
            return {}
        query = sa.select(MeasureScore.id, MeasureScore.responses).where(
            MeasureScore.id.in_(ids),
            MeasureScore.client_id == client.id,
            MeasureScore.practice_id == client.practice_id,
        )
        return dict(db.session.execute(query).all())

    return sealed_values


def _latest(rows: Iterable[tuple]) -> tuple[dict, dict]:
    """The latest recorded form of each instrument, and every form by instrument."""
    latest: dict[str, tuple] = {}
    by_instrument: dict[str, list] = {}
    for mid, instrument, recorded in rows:
        by_instrument.setdefault(instrument, []).append(mid)
        key = (recorded, str(mid))
        if instrument not in latest or key > latest[instrument][0]:
            latest[instrument] = (key, mid)
    return {i: mid for i, (_key, mid) in latest.items()}, by_instrument


def read(cipher, rows: Iterable[tuple], sealed_values) -> dict[str, list]:
    """Measure id (text) → [score, risk items, prorated] for `rows` of (measure id,
    instrument, recorded-at). `sealed_values(ids)` answers {id: sealed value}."""
    latest, by_instrument = _latest(rows)
    unseal = cipher.unseal
    found: dict[str, list] = {}
    opened: set = set()
    wanted = list(latest.values())
    while wanted:
        values = sealed_values(wanted)
        following = []
        for mid in wanted:
            opened.add(mid)
            if mid not in values:
                continue
            value = unseal(TABLE, COLUMN, mid, values[mid])
            found.update(value.get("series") or {})
            found[str(mid)] = entry(value)
            before = value.get("before")
            if before and before not in found:
                following.append(uuid.UUID(before))
        wanted = [mid for mid in following if mid not in opened]
    missing = [m for forms in by_instrument.values() for m in forms if str(m) not in found]
    for mid, blob in sealed_values(missing).items():
        found[str(mid)] = entry(unseal(TABLE, COLUMN, mid, blob))
    return found


def chunk_for_new_form(client, cipher, instrument_id: str) -> tuple[dict, str | None]:
    """The (series, before) a new form of `instrument_id` starts from (see next_chunk)."""
    rows = db.session.execute(
        sa.select(MeasureScore.id, MeasureScore.instrument, MeasureScore.created_at).where(
            MeasureScore.client_id == client.id,
            MeasureScore.practice_id == client.practice_id,
            MeasureScore.instrument == instrument_id,
        )
    ).all()
    latest, _ = _latest(rows)
    previous_id = latest.get(instrument_id)
    if previous_id is None:
        return next_chunk(None, None)
    blob = sealed_values_of(client)([previous_id])[previous_id]
    return next_chunk(previous_id, cipher.unseal(TABLE, COLUMN, previous_id, blob))
