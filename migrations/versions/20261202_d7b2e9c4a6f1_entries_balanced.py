"""entries balanced: on PostgreSQL, an entry added later to an existing transfer is
checked too

The ledger migration's deferred trigger checks, when a transfer is inserted, that it has
two entries summing to zero at commit. An entry inserted afterwards for that transfer (by
SQL past the app) was only found by ``flask ledger verify``; now the database refuses it at
commit as well. Entries written with their transfer are checked twice (cheap: two rows by
index).

Revision ID: d7b2e9c4a6f1
Revises: c4e8a1f0d2b3
Create Date: 2026-12-02 14:25:00

"""
from alembic import op


revision = 'd7b2e9c4a6f1'
down_revision = 'c4e8a1f0d2b3'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION ledger_entry_transfer_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            entry_count integer;
            entry_sum bigint;
        BEGIN
            SELECT COUNT(*), COALESCE(SUM(amount), 0) INTO entry_count, entry_sum
            FROM entries WHERE transfer_id = NEW.transfer_id;
            IF entry_count <> 2 OR entry_sum <> 0 THEN
                RAISE EXCEPTION 'transfer % has % entries summing to %, not 2 summing to 0',
                    NEW.transfer_id, entry_count, entry_sum USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END $$;

        CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON entries
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_transfer_balanced();
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        DROP TRIGGER entries_balanced ON entries;
        DROP FUNCTION ledger_entry_transfer_balanced();
    """)
