"""Fixtures of the page tests."""

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
