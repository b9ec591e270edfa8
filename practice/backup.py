"""Consistent copies of the database, and restoring them into an empty one.

SQLite uses the sqlite3 online backup API: a page-by-page copy that is consistent even
while the application keeps writing. PostgreSQL uses `pg_dump --format=custom` (one
snapshot) and `pg_restore`. A backup holds ciphertext only; it is useless without the
keyring and the audit key (PRACTICE_AUDIT_KEY, or SECRET_KEY when that is unset: it keys
the audit chain), so keep those backed up separately.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from practice.files import create_private, fsync_path

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class Outcome:
    path: Path
    size: int


def backup(url: str | URL, path: Path, *, force: bool = False) -> Outcome:
    """Write a consistent copy of the database at `url` to `path` (never half-written)."""
    url = make_url(url)
    path = Path(path)
    if path.exists() and not force:
        raise BackupError(f"{path} already exists; choose another path or pass --force")
    if not path.parent.is_dir():
        raise BackupError(f"folder {path.parent} does not exist")
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)  # left by a killed run, perhaps with another mode
    create_private(partial)  # 0600 before the first byte of the copy
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_file(url), partial)
        elif url.get_backend_name() == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={partial}"], url)  # fmt: skip
        else:
            raise BackupError(f"no backup method for {url.get_backend_name()} databases")
        os.chmod(partial, 0o600)
        fsync_path(partial)
        os.replace(partial, path)
        fsync_path(path.parent)
    finally:
        partial.unlink(missing_ok=True)
    return Outcome(path, path.stat().st_size)


def restore(url: str | URL, path: Path, *, force: bool = False) -> Outcome:
    """Load the backup at `path` into the database at `url`, which must be empty
    unless `force` (then what the backup holds replaces what is there)."""
    url = make_url(url)
    path = Path(path)
    kind = _backup_kind(path)
    backend = url.get_backend_name()
    if kind != backend:
        raise BackupError(f"{path} is a {kind} backup; this database is {backend}")
    tables = existing_tables(url)
    if tables and not force:
        raise BackupError(
            f"the target database is not empty ({len(tables)} tables, e.g. {tables[0]}); "
            "restore into an empty database, or pass --force to replace its contents"
        )
    if backend == "sqlite":
        _sqlite_restore(path, _sqlite_file(url))
    else:
        command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error"]
        if tables:
            command += ["--clean", "--if-exists"]
        _run([*command, "--single-transaction", str(path)], url, dbname_flag="--dbname")
    return Outcome(path, path.stat().st_size)


def empty_again(url: str | URL, path: Path) -> None:
    """Remove what restoring `path` into a database that was empty put there (a refused
    restore leaves the database as it found it)."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        target = _sqlite_file(url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        create_private(target)
        return
    drops = []
    for line in _toc(path):
        match = TOC_LINE.match(line)
        if match and match["kind"] in DROPPABLE:
            drops.append(
                f"DROP {match['kind']} IF EXISTS {match['schema']}.{match['name']} CASCADE"
            )
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            for statement in reversed(drops):  # functions last: tables' triggers use them
                connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


# A pg_restore --list line: "215; 1255 16386 FUNCTION public name(args) owner".
TOC_LINE = re.compile(r"^\d+; \d+ \d+ (?P<kind>[A-Z ]+?) (?P<schema>\w+) (?P<name>\S+) \S+$")
DROPPABLE = ("TABLE", "SEQUENCE", "FUNCTION", "TYPE")


def _toc(path: Path) -> list[str]:
    program = shutil.which("pg_restore")
    if program is None:
        raise BackupError("pg_restore is not installed (PostgreSQL client tools are needed)")
    result = subprocess.run(  # noqa: S603 (fixed program, arguments we built)
        [program, "--list", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore --list failed: {result.stderr.strip()[:200]}")
    return result.stdout.splitlines()


def existing_tables(url: str | URL) -> list[str]:
    """Names of the user tables in the database at `url` (empty list: an empty database)."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite" and not _sqlite_file(url).exists():
        return []
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    except sa.exc.OperationalError as exc:
        raise BackupError(f"cannot reach the target database ({type(exc.orig).__name__})") from None
    finally:
        engine.dispose()


def _backup_kind(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise BackupError(f"cannot read backup {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a practice backup (neither SQLite nor pg_dump custom format)")


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.exists():
        raise BackupError(f"database file {source} does not exist")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        dst.close()
        src.close()


def _sqlite_restore(backup_file: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"{backup_file} is damaged (SQLite integrity check failed)")
        create_private(target)
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot restore {backup_file}: {exc}") from None
    finally:
        src.close()


def _run(command: list[str], url: URL, dbname_flag: str | None = None) -> None:
    """Run a PostgreSQL client tool against `url`; the password goes via the environment."""
    program = shutil.which(command[0])
    if program is None:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools are needed)")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    libpq = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    target = [f"{dbname_flag}={libpq}"] if dbname_flag else [libpq]
    result = subprocess.run(  # noqa: S603 (fixed program, arguments we built)
        [program, *command[1:], *target], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1:] or ["no message"]
        raise BackupError(f"{command[0]} failed: {detail[0]}")
