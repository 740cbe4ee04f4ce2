"""payment request listing: the offer or request a betaalverzoek is about

A request made from a conversation about a listing carries the listing, and the transfer
booked when it is accepted gets it too (transfers.listing_id already exists).

Revision ID: 5189a18f2078
Revises: 886781e2a6c3
Create Date: 2026-11-22 03:02:57.068503

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5189a18f2078'
down_revision = '886781e2a6c3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listing_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payment_requests_listing_id_listings'), 'listings', ['listing_id'], ['id'])


def downgrade():
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payment_requests_listing_id_listings'), type_='foreignkey')
        batch_op.drop_column('listing_id')
