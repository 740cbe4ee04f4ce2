"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ruilkring.extensions import db


def include_name(name, type_, parent_names):
    # As in migrations/env.py: the full-text search structures are made by migrations only.
    if type_ == "table" and name.startswith("listings_search"):
        return False
    if type_ == "index" and name == "ix_listings_search":  # PostgreSQL's GIN index
        return False
    return not (type_ == "column" and name == "search_vector")


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": include_name})
        assert compare_metadata(context, db.metadata) == []
