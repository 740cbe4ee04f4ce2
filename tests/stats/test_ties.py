"""Ties follow the ledger: formed by the first standing trade, undone by reversals."""

from datetime import timedelta

from sqlalchemy import select

from ruilkring import clock
from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger
from ruilkring.ledger.models import AccountKind
from ruilkring.stats.models import ContactAnswer, Tie
from ruilkring.stats.ties import tie_answer, ties_rebuild, unanswered_ties
from tests import factories
from tests.helpers import pay


def ties(ring):
    return {(t.member_low_id, t.member_high_id): (t.trade_count, t.minutes, t.first_transfer_id)
            for t in db.session.scalars(select(Tie).where(Tie.ring_id == ring.id))}


def test_trades_form_and_strengthen_a_tie_in_either_direction(ring):
    a, b = factories.MemberFactory(ring=ring), factories.MemberFactory(ring=ring)
    first = pay(a, b, 60)
    pay(b, a, 30)
    assert ties(ring) == {(min(a.id, b.id), max(a.id, b.id)): (2, 90, first.id)}


def test_reversal_moves_the_first_trade_and_a_lone_reversed_trade_is_no_contact(ring, coordinator):
    a, b, c = (factories.MemberFactory(ring=ring) for _ in range(3))
    first, second = pay(a, b, 60), pay(a, b, 30)
    lone = pay(a, c, 45)
    for transfer, key in ((first, "r1"), (lone, "r2")):
        run_ledger_transaction(lambda transfer=transfer, key=key: ledger.transfer_reverse(
            transfer=transfer, reversed_by=coordinator.user, reason="fout", idempotency_key=key))
    result = ties(ring)
    assert result[(min(a.id, b.id), max(a.id, b.id))] == (1, 30, second.id)
    assert result[(min(a.id, c.id), max(a.id, c.id))] == (0, 0, None)
    incremental = ties(ring)
    ties_rebuild(ring_id=ring.id)
    assert ties(ring) == incremental


def test_a_pair_whose_trades_were_all_reversed_forms_the_tie_again(ring, coordinator):
    """The tie's upsert: a tie with no standing trade takes the next trade as its first; the
    dates widen to take in a trade booked with an earlier date, as a rebuild has them."""
    a, b = factories.MemberFactory(ring=ring), factories.MemberFactory(ring=ring)
    lone = pay(a, b, 60)
    run_ledger_transaction(lambda: ledger.transfer_reverse(
        transfer=lone, reversed_by=coordinator.user, reason="fout", idempotency_key="r1"))
    today = clock.today()
    accounts = [ledger.account_open(member=member) for member in (a, b)]

    def book(key, occurred_on):
        return run_ledger_transaction(lambda: ledger.transfer_create(
            payer_id=accounts[0].id, payee_id=accounts[1].id, amount=30, idempotency_key=key, entered_by=a.user,
            description="klus", occurred_on=occurred_on))

    again = book("t1", today)
    book("t2", today - timedelta(days=40))
    tie = db.session.scalar(select(Tie).where(Tie.ring_id == ring.id))
    expected = (2, 60, again.id, today - timedelta(days=40), today)
    assert (tie.trade_count, tie.minutes, tie.first_transfer_id, tie.first_date, tie.last_date) == expected
    ties_rebuild(ring_id=ring.id)
    db.session.refresh(tie)
    assert (tie.trade_count, tie.minutes, tie.first_transfer_id, tie.first_date, tie.last_date) == expected


def test_payments_with_the_pot_make_no_tie(ring, coordinator):
    member = factories.MemberFactory(ring=ring)
    run_ledger_transaction(lambda: ledger.bulk_book(
        ring=ring, members=[member], amount=30, direction="from_members", description="bijdrage",
        booked_by=coordinator.user, idempotency_key="b"))
    assert ledger.system_account(ring=ring, kind=AccountKind.POT).balance == 30
    assert ties(ring) == {}


def test_bulk_history_builds_the_same_ties(ring):
    members = [factories.MemberFactory(ring=ring) for _ in range(4)]
    accounts = [ledger.account_open(member=m) for m in members]
    moment = clock.now() - timedelta(days=30)
    history = [ledger.HistoricalTransfer(accounts[i % 4].id, accounts[(i + 1) % 4].id, 30, moment + timedelta(hours=i))
               for i in range(10)]
    run_ledger_transaction(lambda: ledger.transfers_bulk_load(ring=ring, transfers=history))
    result = ties(ring)
    assert len(result) == 4 and sum(count for count, _, _ in result.values()) == 10


def test_contact_question_is_asked_once_per_side(ring):
    a, b = factories.MemberFactory(ring=ring), factories.MemberFactory(ring=ring)
    pay(a, b, 60)
    [tie] = unanswered_ties(member=a)
    tie_answer(tie=tie, member=a, answer=ContactAnswer.NO)
    again = tie_answer(tie=tie, member=a, answer=ContactAnswer.YES)
    assert again.answer == ContactAnswer.NO
    assert unanswered_ties(member=a) == [] and unanswered_ties(member=b) == [tie]
    assert (tie.answers_yes, tie.answers_other) == (0, 1)  # counted once


def test_answer_counts_on_the_tie_follow_the_answers_and_a_rebuild_repairs_them(ring):
    a, b, c = (factories.MemberFactory(ring=ring) for _ in range(3))
    pay(a, b, 60)
    pay(a, c, 30)
    tie_ab, tie_ac = sorted(db.session.scalars(select(Tie)), key=lambda t: t.id)
    tie_answer(tie=tie_ab, member=a, answer=ContactAnswer.NO)
    tie_answer(tie=tie_ab, member=b, answer=ContactAnswer.BY_SIGHT)
    tie_answer(tie=tie_ac, member=a, answer=ContactAnswer.YES)
    tie_answer(tie=tie_ac, member=c, answer=ContactAnswer.SKIPPED)
    db.session.commit()
    counts = lambda: sorted((t.answers_yes, t.answers_other) for t in db.session.scalars(select(Tie)))  # noqa: E731
    assert counts() == [(0, 2), (1, 0)]
    tie_ab.answers_other, tie_ac.answers_yes = 7, 0  # damaged, e.g. by a bulk load
    db.session.commit()
    ties_rebuild(ring_id=ring.id)
    db.session.commit()
    db.session.expire_all()
    assert counts() == [(0, 2), (1, 0)]


def test_largest_group_counts_the_members_of_the_biggest_connected_part():
    from ruilkring.stats.metrics import largest_group

    assert largest_group([]) == 0
    assert largest_group([(1, 2), (2, 3), (10, 11), (3, 4), (20, 21), (21, 22)]) == 4


def test_monthly_rollups_follow_trades_and_reversals_and_match_a_rebuild(ring, coordinator):
    from ruilkring.stats.models import MemberMonth
    from ruilkring.stats.rollups import rollups_rebuild

    a, b = factories.MemberFactory(ring=ring), factories.MemberFactory(ring=ring)
    pay(a, b, 60)
    wrong = pay(b, a, 30)
    run_ledger_transaction(lambda: ledger.transfer_reverse(
        transfer=wrong, reversed_by=coordinator.user, reason="fout", idempotency_key="r"))

    def snapshot():
        return sorted((m.member_id, m.trades_given, m.trades_received, m.minutes_given, m.minutes_received)
                      for m in db.session.scalars(select(MemberMonth)) if m.trades_given or m.trades_received)

    incremental = snapshot()
    assert incremental == sorted([(a.id, 1, 0, 60, 0), (b.id, 0, 1, 0, 60)])
    rollups_rebuild(ring_id=ring.id)
    assert snapshot() == incremental
