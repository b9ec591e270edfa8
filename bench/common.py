"""What every benchmark shares: the machine description, scratch databases, and writing
one section of bench/RESULTS.md without touching the others."""

from __future__ import annotations

import os
import platform
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import flask_migrate
import psycopg
from flask import Flask

from practice import create_app
from practice.extensions import db
from practice.keys.keyring import generate_keyring

RESULTS = Path(__file__).with_name("RESULTS.md")
PG_ADMIN = os.environ.get(
    "PRACTICE_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def machine() -> str:
    """nproc, memory, CPU model, Python, and the load when the run started."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    python = platform.python_version()
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} CPUs (nproc), {memory:.1f} GiB RAM, {cpu}, Python {python}; "
        f"1-minute load average at start {load:.1f}"
    )


def scratch_url(kind: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    """A new empty database (SQLite file in `workdir`, or PostgreSQL) and how to drop it."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    name = f"practice_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


def bench_app(url: str, keyring: Path) -> Flask:
    """A testing-config app on `url` with the keyring file `keyring` (not migrated)."""
    return create_app(
        "testing",
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "PRACTICE_KEYRING": str(keyring)},
    )


@contextmanager
def scratch_app(kind: str) -> Iterator[Flask]:
    """A migrated app on a new database with its own keyring file (its path is
    app.config["PRACTICE_KEYRING"]), inside its app context; dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="practice-bench-") as tmp:
        workdir = Path(tmp)
        url, drop = scratch_url(kind, workdir)
        ring = workdir / "keyring.json"
        generate_keyring(ring)
        try:
            app = bench_app(url, ring)
            with app.app_context():
                flask_migrate.upgrade()
                try:
                    yield app
                finally:
                    db.session.remove()
                    db.engine.dispose()
        finally:
            drop()


def replace_section(heading: str, section: str) -> str:
    """Put `section` (starting with `heading`) into RESULTS.md in place of the old one."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    RESULTS.write_text(text)
    return section
