"""Benchmark: the theme loader's id conversions, before and after one uuid_reader.

    python -m bench.theme_ids [--repeats 61] [--databases sqlite,postgresql]

The loader reads appointment ids raw (database.raw). "before" converts them with
as_uuid in both queries (the notes' appointment ids and the attended appointments' ids,
about 2,000 conversions for 1,000 notes on SQLite); "after" is the loader as it is, one
database.uuid_reader for both queries, so each id is converted once. Both run the loader
with the theme computation taken out (bench.themes.NoHistory), interleaved with the floor
of bench/themes.py in one run, each run cold. Prints; append the numbers to RESULTS.md.
"""

from __future__ import annotations

import argparse

from bench.common import machine, scratch_app
from bench.themes import NoHistory, floor, seed, timed
from practice.clients.models import Client
from practice.database import as_uuid
from practice.extensions import db
from practice.themes import loader


def bench(kind: str, repeats: int) -> dict[str, float]:
    with scratch_app(kind):
        client, author = seed(1000)
        ids = (client.id, author.id, client.practice_id)
        db.session.commit()
        reader = loader.uuid_reader

        def loading(make_reader):
            def run():
                original = loader.ThemeHistory
                loader.uuid_reader, loader.ThemeHistory = make_reader, NoHistory
                try:
                    row = db.session.get(Client, ids[0])
                    return loader.client_theme_history(row, {ids[1]}, "Europe/Berlin")
                finally:
                    loader.uuid_reader, loader.ThemeHistory = reader, original

            return run

        return timed(
            {
                "floor": lambda: floor(*ids, kind),
                "before": loading(lambda: as_uuid),
                "after": loading(reader),
            },
            repeats,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=61)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    print(machine())
    for kind in args.databases.split(","):
        r = bench(kind, args.repeats)
        print(
            f"| {kind} | {r['floor']:.1f} | {r['before']:.1f} ({r['before'] / r['floor']:.2f} x) "
            f"| {r['after']:.1f} ({r['after'] / r['floor']:.2f} x) "
            f"| {r['before'] - r['after']:.2f} |"
        )


if __name__ == "__main__":
    main()
