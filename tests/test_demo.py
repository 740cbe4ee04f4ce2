"""The demo command: deterministic, realistic data that keeps every ledger invariant."""

from sqlalchemy import func, select

from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, PaymentRequest, Transfer, TransferKind
from ruilkring.ledger.verify import ledger_verify
from ruilkring.members.models import Member, MemberStatus
from tests.conftest import empty_database


def run_demo(app, *args):
    result = app.test_cli_runner().invoke(args=["demo", "--members", "30", "--months", "6", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_builds_a_living_ring_and_the_books_are_right(app):
    output = run_demo(app)
    assert "ruilkring-demo" in output
    assert ledger_verify() == []
    statuses = set(db.session.scalars(select(Member.status)))
    assert {MemberStatus.ACTIVE, MemberStatus.PENDING} <= statuses
    kinds = set(db.session.scalars(select(Transfer.kind)))
    assert {TransferKind.TRADE, TransferKind.REVERSAL} <= kinds
    assert db.session.scalar(select(func.count()).select_from(Transfer)) > 100
    assert db.session.scalar(select(func.count()).select_from(PaymentRequest)) >= 3


def snapshot():
    return db.session.execute(
        select(User.name, Account.balance).join(Member, Member.user_id == User.id)
        .join(Account, Account.member_id == Member.id).order_by(User.name, Account.balance)
    ).all()


def test_demo_is_deterministic_and_refuses_a_full_database(app):
    first = run_demo(app, "--seed", "7")
    first_snapshot = snapshot()
    again = app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code != 0 and "empty database" in again.output
    assert "no demo data" in app.test_cli_runner().invoke(args=["demo", "--if-empty"]).output
    db.session.rollback()
    empty_database()
    assert run_demo(app, "--seed", "7") == first
    assert snapshot() == first_snapshot
    assert len(first_snapshot) > 30


def test_ledger_verify_command_exits_non_zero_on_a_problem(app):
    run_demo(app)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    db.session.execute(db.text("UPDATE accounts SET balance = balance + 1 WHERE id = (SELECT MIN(id) FROM accounts)"))
    db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "ring_sum_zero" in result.output and "cached_balance" in result.output
