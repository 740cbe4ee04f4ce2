"""``ledger verify``: each of its checks catches the damage it is there for. The books are
damaged behind the app's back, in SQL; on PostgreSQL the triggers that forbid exactly that
are switched off for the test's transaction (``session_replication_role``)."""

import pytest
from sqlalchemy import text

from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services
from ruilkring.ledger.verify import CHECKS, ledger_verify
from tests import factories
from tests.helpers import pay

DAMAGE = {
    "ring_sum_zero": "UPDATE accounts SET balance = balance + 1 WHERE id = :payer",
    "two_entries": "UPDATE entries SET amount = amount + 1 WHERE transfer_id = :trade AND amount > 0",
    "cached_balance": "UPDATE accounts SET version = version + 1 WHERE id = :payer",
    "running_balance": "UPDATE entries SET balance_after = balance_after + 5 WHERE transfer_id = :trade",
    "limits": "UPDATE entries SET min_balance = 0 WHERE transfer_id = :trade AND amount < 0",
    "override_logged": "UPDATE transfers SET limit_override = true, reason = '' WHERE id = :trade",
    "one_reversal": "UPDATE transfers SET payee_account_id = :payer WHERE id = :reversal",
    "same_ring": "UPDATE transfers SET ring_id = :other_ring WHERE id = :trade",
}


@pytest.fixture
def books(ring, anna, bert, carla, coby):
    """A trade, a reversed trade, and another ring: books that verify clean."""
    trade = pay(anna, bert, 60, "tuin")
    reversed_trade = pay(bert, carla, 30, "koffie")
    reversal = run_ledger_transaction(lambda: services.transfer_reverse(
        transfer=reversed_trade, reversed_by=coby.user, reason="fout", idempotency_key="r"))
    other_ring = factories.MemberFactory().ring
    db.session.commit()
    assert ledger_verify() == []
    return {"trade": trade.id, "reversal": reversal.id, "payer": trade.payer_account_id,
            "other_ring": other_ring.id}


def test_every_check_has_its_damage_here():
    assert set(DAMAGE) == set(CHECKS) - {"idempotency_unique"}  # a unique index makes that one impossible


@pytest.mark.parametrize("check", sorted(DAMAGE))
def test_each_check_names_its_damage(app, books, check):
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text(DAMAGE[check]), books)
    problems = ledger_verify()
    assert any(problem.startswith(f"{check}: ") for problem in problems), problems
    db.session.rollback()
    assert ledger_verify() == []
