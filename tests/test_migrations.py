"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ruilkring.database import migration_include_name
from ruilkring.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": migration_include_name})
        assert compare_metadata(context, db.metadata) == []
