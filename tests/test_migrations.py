"""The migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import practice.models  # noqa: F401
from practice.extensions import db


def test_models_and_migrations_agree():
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    diff = compare_metadata(context, db.metadata)
    assert diff == []
