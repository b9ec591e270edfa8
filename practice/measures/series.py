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


def key(measure_id) -> str:
    """A form's id as 32 hex digits: how a series names it (SQLite returns ids so, UUID
    text drops its dashes, and a uuid.UUID says it through .hex, so no id is parsed or
    formatted for nothing)."""
    return measure_id.replace("-", "") if measure_id.__class__ is str else measure_id.hex


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
    carried.setdefault(key(previous_id), entry(previous))
    if len(carried) >= CHUNK:
        return {}, key(previous_id)
    return carried, previous.get("before")


def sealed_values_of(client) -> Callable[[list], dict]:
    """A function answering {key: sealed value} for keys of this client's forms."""

    def sealed_values(keys: list) -> dict:
        if not keys:
            return {}
        query = sa.select(MeasureScore.id, MeasureScore.responses).where(
            MeasureScore.id.in_([uuid.UUID(hex=k) for k in keys]),
            MeasureScore.client_id == client.id,
            MeasureScore.practice_id == client.practice_id,
        )
        return {mid.hex: blob for mid, blob in db.session.execute(query).all()}

    return sealed_values


def _latest(rows: Iterable[tuple]) -> tuple[dict, dict]:
    """The key of the latest recorded form of each instrument, and every form's key by
    instrument."""
    latest: dict[str, tuple] = {}
    by_instrument: dict[str, list] = {}
    for mid, instrument, recorded in rows:
        k = mid if mid.__class__ is str else mid.hex  # key(), inlined: 300 rows a read
        keys = by_instrument.get(instrument)
        if keys is None:
            by_instrument[instrument] = [k]
            latest[instrument] = (recorded, k)
            continue
        keys.append(k)
        top = latest[instrument]
        if recorded > top[0] or (recorded == top[0] and k > top[1]):
            latest[instrument] = (recorded, k)
    return {i: k for i, (_recorded, k) in latest.items()}, by_instrument


def read(cipher, rows: Iterable[tuple], sealed_values) -> dict[str, list]:
    """Key → [score, risk items, prorated] for `rows` of (measure id, instrument,
    recorded-at). `sealed_values(keys)` answers {key: sealed value}."""
    latest, by_instrument = _latest(rows)
    keys = [k for instrument_keys in by_instrument.values() for k in instrument_keys]
    return open_chunks(cipher, latest.values(), keys, sealed_values)


def open_chunks(cipher, latest: Iterable[str], keys: Iterable[str], sealed_values) -> dict:
    """Key → [score, risk items, prorated] for every form of `keys`: opens the `latest`
    form of each instrument, follows each chunk's `before` back, and opens on its own any
    form the chunks do not list. For a reader that found the latest forms itself."""
    unseal = cipher.unseal
    found: dict[str, list] = {}
    opened: set = set()
    wanted = list(latest)
    while wanted:
        values = sealed_values(wanted)
        following = []
        for k in wanted:
            opened.add(k)
            if k not in values:
                continue
            value = unseal(TABLE, COLUMN, uuid.UUID(hex=k), values[k])
            found.update(value.get("series") or {})
            found[k] = entry(value)
            before = value.get("before")
            if before and before not in found:
                following.append(before)
        wanted = [k for k in following if k not in opened]
    missing = [k for k in keys if k not in found]
    for k, blob in sealed_values(missing).items():
        found[k] = entry(unseal(TABLE, COLUMN, uuid.UUID(hex=k), blob))
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
    previous = latest.get(instrument_id)
    if previous is None:
        return next_chunk(None, None)
    blob = sealed_values_of(client)([previous])[previous]
    return next_chunk(previous, cipher.unseal(TABLE, COLUMN, uuid.UUID(hex=previous), blob))
