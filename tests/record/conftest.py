"""The API tests' fixtures (`team`, `cheap_hashing`) for the clinical record's tests."""

from tests.api.conftest import cheap_hashing, team  # noqa: F401
