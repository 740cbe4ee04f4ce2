"""listing search speed: a stored search vector on PostgreSQL, and an index that covers
the visibility filter on both databases

PostgreSQL computed to_tsvector for rows the planner walked in date order; a stored,
generated column with its own GIN index makes each check a lookup. The column is
maintained by PostgreSQL itself and is not mapped by the models (see migrations/env.py).

Revision ID: 7d1e2c4b9a10
Revises: 5c42428450d9
Create Date: 2026-11-22 04:05:00

"""
from alembic import op


revision = '7d1e2c4b9a10'
down_revision = '5c42428450d9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index('ix_listings_ring_status_valid')
        batch_op.create_index('ix_listings_ring_status_valid', ['ring_id', 'status', 'valid_until', 'owner_id'],
                              unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            DROP INDEX ix_listings_search;
            ALTER TABLE listings ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
                to_tsvector('dutch', ruilkring_unaccent(title || ' ' || description))) STORED;
            CREATE INDEX ix_listings_search ON listings USING gin (search_vector);
        """)
    else:
        op.execute("ANALYZE")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            DROP INDEX ix_listings_search;
            ALTER TABLE listings DROP COLUMN search_vector;
            CREATE INDEX ix_listings_search ON listings USING gin (
                to_tsvector('dutch', ruilkring_unaccent(title || ' ' || description)));
        """)
    with op.batch_alter_table('listings', schema=None) as batch_op:
        batch_op.drop_index('ix_listings_ring_status_valid')
        batch_op.create_index('ix_listings_ring_status_valid', ['ring_id', 'status', 'valid_until'], unique=False)
