"""stats speed: the contact answers counted on each tie, answers and transfers findable
per ring by id

The dashboards counted the answers of every tie of a period with a join and a GROUP BY,
and found the newest transfer and answer of a ring by scanning them; at 10,000 members
and 1,000,000 trades that took seconds per page (docs/BENCHMARKS.md). The counts now live
on the tie (kept by the answer service, repaired by ``stats refresh``), and two indexes
make the dashboards' "did anything change" check a pair of index lookups.

Revision ID: b6d40e2f7a18
Revises: a3f9c1d27e55
Create Date: 2026-12-02 03:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b6d40e2f7a18'
down_revision = 'a3f9c1d27e55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers_yes', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('answers_other', sa.Integer(), nullable=False, server_default='0'))
    op.execute("""
        UPDATE ties SET
            answers_yes = (SELECT count(*) FROM tie_answers a WHERE a.tie_id = ties.id AND a.answer = 'yes'),
            answers_other = (SELECT count(*) FROM tie_answers a
                             WHERE a.tie_id = ties.id AND a.answer IN ('no', 'by_sight'))
    """)
    with op.batch_alter_table('tie_answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ring_id', sa.Integer(), nullable=True))
    op.execute("UPDATE tie_answers SET ring_id = (SELECT ties.ring_id FROM ties WHERE ties.id = tie_answers.tie_id)")
    with op.batch_alter_table('tie_answers', schema=None) as batch_op:
        batch_op.alter_column('ring_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_tie_answers_ring_id_rings'), 'rings', ['ring_id'], ['id'])
        batch_op.create_index('ix_tie_answers_ring_id', ['ring_id', 'id'], unique=False)
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index('ix_transfers_ring_id', ['ring_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_transfers_ring_id')
    with op.batch_alter_table('tie_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_tie_answers_ring_id')
        batch_op.drop_constraint(batch_op.f('fk_tie_answers_ring_id_rings'), type_='foreignkey')
        batch_op.drop_column('ring_id')
    with op.batch_alter_table('ties', schema=None) as batch_op:
        batch_op.drop_column('answers_other')
        batch_op.drop_column('answers_yes')
