"""Fresh test databases on SQLite or PostgreSQL, chosen by PRACTICE_TEST_DATABASE."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import psycopg

KIND = os.environ.get("PRACTICE_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "PRACTICE_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


class TestDatabase:
    """One empty database, created on demand and dropped afterwards."""

    __test__ = False

    def __init__(self, kind: str = KIND):
        if kind not in ("sqlite", "postgresql"):
            raise RuntimeError(f"PRACTICE_TEST_DATABASE must be sqlite or postgresql, not {kind}")
        self.kind = kind
        self.name = f"practice_test_{os.getpid()}_{secrets.token_hex(4)}"
        self._dir: tempfile.TemporaryDirectory | None = None

    @property
    def url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{base}/{self.name}"

    @property
    def path(self) -> Path:
        assert self._dir is not None
        return Path(self._dir.name) / "practice.db"

    def create(self) -> TestDatabase:
        if self.kind == "sqlite":
            self._dir = tempfile.TemporaryDirectory(prefix="practice-test-")
        else:
            # In CI a missing PostgreSQL must fail the run, so no skip here.
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        if self.kind == "sqlite":
            if self._dir is not None:
                self._dir.cleanup()
            return
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
