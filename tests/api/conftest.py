"""Fixtures shared by the HTTP tests."""

from __future__ import annotations

import pytest

from tests.factories import Team, make_team
from tests.helpers import settle


@pytest.fixture
def team(db) -> Team:
    """`make_team()`, committed."""
    built = make_team()
    settle()
    return built


@pytest.fixture
def cheap_hashing(app, monkeypatch):
    """For tests that log in with API tokens, never passwords: skip argon2's real cost.
    Used module-wide with `pytestmark = pytest.mark.usefixtures("cheap_hashing")`."""
    monkeypatch.setitem(app.config, "ARGON2_TIME_COST", 1)
    monkeypatch.setitem(app.config, "ARGON2_MEMORY_COST", 8)
