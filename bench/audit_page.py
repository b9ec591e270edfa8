"""Benchmark: the owner's audit log page beside the API call returning the same page of
entries, side by side (interleaved) in one run through the Flask test client, for a
practice whose chain holds `--entries` entries. The page verifies the practice's chain
(the same walk as `flask audit verify`) by itself up to AUTO_CHECK_ENTRIES entries and
otherwise when asked (`?check=1`); that cost grows with the log while the API's does
not, so the page with the check and the verification alone are timed too.

    python -m bench.audit_page [--entries 2000,20000] [--repeats 7] [--databases sqlite,postgresql]

Appends the medians to bench/RESULTS.md as an "Owner's audit log page" section.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC, datetime

from bench.common import machine, replace_section, scratch_app
from bench.web_pages import signed_in
from practice.audit import service as audit
from practice.audit.chain_state import AUTO_CHECK_ENTRIES, chain_state
from practice.auth import service as auth_service
from practice.extensions import db

SECTION = "## Owner's audit log page"
BATCH = 500


def seed(entries: int):
    """A practice, its owner, and `entries` audit entries (client reads) on its chain."""
    practice = auth_service.create_practice("Bench Audit Practice", "Europe/Berlin")
    owner = auth_service.create_user(
        practice,
        email="owner@bench.test",
        name="Bench Owner",
        roles=["owner"],
        password="quiet harbour lantern 42",
    )
    db.session.commit()
    done = 0
    while done < entries:
        for _ in range(min(BATCH, entries - done)):
            audit.record(
                db.session, "client.read", object_type="client", object_id=uuid.uuid4(),
                actor=owner,
            )  # fmt: skip
            done += 1
        db.session.commit()
    return owner


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def bench(kind: str, entries: int, repeats: int) -> dict:
    with scratch_app(kind) as app:
        owner = seed(entries)
        http = app.test_client()
        signed_in(http, owner)
        page, checked, api, verify = [], [], [], []

        def get(url: str) -> None:
            response = http.get(url)
            assert response.status_code == 200, (url, response.status_code)
            response.close()

        for _ in range(repeats):
            page.append(timed(lambda: get("/admin/audit")))
            checked.append(timed(lambda: get("/admin/audit?check=1")))
            api.append(timed(lambda: get("/api/v1/audit?page_size=50")))
            verify.append(timed(lambda: chain_state(db.session, owner.practice_id)))
            db.session.rollback()
        return {
            "database": kind,
            "entries": entries,
            "page": statistics.median(page),
            "checked": statistics.median(checked),
            "api": statistics.median(api),
            "verify": statistics.median(verify),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", default="2000,20000")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    about = machine()
    rows = [
        bench(kind, int(n), args.repeats)
        for kind in args.databases.split(",")
        for n in args.entries.split(",")
    ]
    lines = [
        SECTION,
        "",
        f"Run {started} with `python -m bench.audit_page --entries {args.entries} "
        f"--repeats {args.repeats}` on {about}. Medians of interleaved runs: the owner's "
        "page as it opens (50 entries, readable names; the chain checked by itself up to "
        f"{AUTO_CHECK_ENTRIES} entries), the API's page of the same 50 entries, the page "
        "asked to check the chain, and the verification alone.",
        "",
        "| database | entries in the chain | page ms | API ms | ratio | page with check ms "
        "| verification alone ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['database']} | {r['entries']} | {r['page']:.1f} | {r['api']:.1f} | "
            f"{r['page'] / r['api']:.2f} | {r['checked']:.1f} | {r['verify']:.1f} |"
        )
    print(replace_section(SECTION, "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
