"""Writing files that must survive a crash and stay private: the keyring, the audit
anchor, backups, the SQLite database."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_path(path: Path) -> None:
    """fsync a file (its contents) or a directory (a rename inside it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_private(path: Path) -> bool:
    """Create `path` empty and readable by its owner only (0600) unless it exists; True
    if it was created. Whatever later writes into it (SQLite, sqlite3's backup, pg_dump)
    keeps that mode, and SQLite gives its -wal, -shm and -journal files the database
    file's mode: so they are private from the first byte, whatever the umask."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically and durably, readable by its owner only
    (0600): a unique temporary file beside it, fsynced, renamed over it, directory
    fsynced. A crash leaves the old file or the new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=path.name + ".", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)
