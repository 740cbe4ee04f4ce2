"""payment request key: the request form's idempotency key, so a double click or a
resubmitted form sends one betaalverzoek, not two

Revision ID: c4e8a1f0d2b3
Revises: b6d40e2f7a18
Create Date: 2026-12-02 14:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e8a1f0d2b3'
down_revision = 'b6d40e2f7a18'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_payment_requests_idempotency_key'), ['idempotency_key'])


def downgrade():
    with op.batch_alter_table('payment_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_payment_requests_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')
