"""Benchmark: `flask keys rotate` over 20,000 client data keys, and sealing an 8 KB note.

    python -m bench.crypto [--clients 20000] [--databases sqlite,postgresql]

Creates scratch databases (a temporary SQLite file; a throwaway PostgreSQL database at
PRACTICE_BENCH_PG_ADMIN_URL), times the real rotate command, and writes the numbers with
the machine into the "Encryption and keys" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa

from bench.common import machine, replace_section, scratch_app
from practice.auth import service as auth_service
from practice.clients.models import Client
from practice.extensions import db
from practice.keys import client_keys
from practice.keys.envelope import generate_data_key, wrap_data_key
from practice.keys.keyring import load_keyring
from practice.keys.models import ClientDataKey

SECTION = "## Encryption and keys"
TARGET_SECONDS = 10.0


def seed(count: int) -> Client:
    """One practice, one clinician, `count` clients each with a wrapped data key."""
    keyring = client_keys.current_keyring()
    practice = auth_service.create_practice("Bench Rooms", "Europe/Berlin")
    clinician = auth_service.create_user(
        practice,
        email="bench@example.test",
        name="Bench Clinician",
        roles=["clinician"],
        password="lantern orchard velvet harbour",
    )
    now = datetime.now(UTC)
    clients, data_keys = [], []
    for n in range(count):
        client_id, key_id = uuid.uuid4(), uuid.uuid4()
        clients.append(
            {"id": client_id, "practice_id": practice.id, "first_name": "Bench",
             "last_name": f"Client{n:05d}", "primary_clinician_id": clinician.id,
             "status": "active", "intake_date": date(2026, 1, 5), "created_at": now,
             "updated_at": now}
        )  # fmt: skip
        master_id, wrapped = wrap_data_key(
            keyring, practice.id, client_id, key_id, generate_data_key()
        )
        data_keys.append(
            {"id": key_id, "practice_id": practice.id, "client_id": client_id,
             "master_key_id": master_id, "wrapped_key": wrapped, "created_at": now}
        )  # fmt: skip
    db.session.execute(sa.insert(Client.__table__), clients)
    db.session.execute(sa.insert(ClientDataKey.__table__), data_keys)
    db.session.commit()
    return db.session.get(Client, clients[0]["id"])


def typical_note() -> dict:
    """A process note of about 8 KB of JSON (structured template plus narrative)."""
    words = "she expected him to dismiss her and then dismissed him first " * 6
    return {
        "template_version": 1,
        "relationship_episodes": [
            {
                "figure": f"figure-{n}",
                "wish": words,
                "response_of_other": words,
                "response_of_self": words,
            }
            for n in range(5)
        ],
        "transference": {"present": True, "intensity": 3, "notes": words},
        "narrative": {"summary": words * 2, "plan": words},
    }


def time_ops(client: Client, reps: int = 2000) -> dict[str, float]:
    """Microseconds per seal and unseal of the note, with the data key already unwrapped."""
    note, row_id = typical_note(), uuid.uuid4()
    blob = client_keys.seal(client, "process_notes", "content", row_id, note)
    start = time.perf_counter()
    for _ in range(reps):
        client_keys.seal(client, "process_notes", "content", row_id, note)
    seal_us = (time.perf_counter() - start) / reps * 1e6
    start = time.perf_counter()
    for _ in range(reps):
        client_keys.unseal(client, "process_notes", "content", row_id, blob)
    unseal_us = (time.perf_counter() - start) / reps * 1e6
    start = time.perf_counter()
    for _ in range(200):
        client_keys.forget_keys()
        client_keys.unseal(client, "process_notes", "content", row_id, blob)
    cold_us = (time.perf_counter() - start) / 200 * 1e6
    return {"bytes": len(blob), "seal": seal_us, "unseal": unseal_us, "cold": cold_us}


def bench(kind: str, count: int) -> dict:
    with scratch_app(kind) as app:
        ring = app.config["PRACTICE_KEYRING"]
        client = seed(count)
        ops = time_ops(client)
        db.session.commit()
        db.session.remove()
        start = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
        seconds = time.perf_counter() - start
        if result.exit_code != 0:
            raise SystemExit(f"rotate failed on {kind}:\n{result.output}")
        active = load_keyring(ring).active_id
        left = db.session.scalar(
            sa.select(sa.func.count()).where(ClientDataKey.master_key_id != active)
        )
    return {"kind": kind, "count": count, "rotate": seconds, "left": left, **ops}


def write_results(rows: list[dict]) -> str:
    lines = [
        SECTION,
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M UTC} with `python -m bench.crypto` on {machine()}.",
        "",
        "| database | data keys | `flask keys rotate` (s) | target | left on old key "
        "| 8 KB note: seal (µs) | unseal (µs) | unseal, first use of a client (µs) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ok = "met" if r["rotate"] < TARGET_SECONDS else "MISSED"
        lines.append(
            f"| {r['kind']} | {r['count']:,} | {r['rotate']:.2f} | < {TARGET_SECONDS:.0f} s {ok} "
            f"| {r['left']} | {r['seal']:.0f} | {r['unseal']:.0f} | {r['cold']:.0f} |"
        )
    lines += [
        "",
        f"The sealed note is {rows[0]['bytes']:,} bytes. Rotation is the real command "
        "(new key into the keyring file, then rewrap in batches of 500, one transaction "
        "each); first use includes the data key's database read and unwrap.",
        "",
    ]
    return replace_section(SECTION, "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = [bench(kind, args.clients) for kind in args.databases.split(",")]
    print(write_results(rows))


if __name__ == "__main__":
    main()
