"""Keeping the ties table in step with the ledger.

The ledger's write path calls ``tie_record_trade`` for every new trade between two
members and ``tie_record_reversal`` when such a trade is reversed, inside the same
transaction (the two accounts are already locked, so no other transaction races for the
same pair). ``ties_rebuild`` recomputes a ring's ties from its transfers, for bulk loads,
imports and the ``stats rebuild-ties`` command; answers to the contact question survive it.
"""

import functools
from datetime import date

from sqlalchemy import and_, case, exists, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from ruilkring.database import upsert
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, Transfer, TransferKind
from ruilkring.members.models import Member
from ruilkring.stats.models import ContactAnswer, Tie, TieAnswer


def _pair(transfer: Transfer) -> tuple[int, int] | None:
    payer, payee = transfer.payer.member_id, transfer.payee.member_id
    if payer is None or payee is None:
        return None
    return (payer, payee) if payer < payee else (payee, payer)


def _tie(ring_id: int, low: int, high: int) -> Tie | None:
    # Fresh from the database: the write path updates ties in SQL, past the identity map.
    return db.session.scalar(select(Tie).where(
        Tie.ring_id == ring_id, Tie.member_low_id == low, Tie.member_high_id == high)
        .execution_options(populate_existing=True))


@functools.cache
def _tie_upsert(dialect: str):
    ties = Tie.__table__
    statement = upsert(ties, dialect)
    new = statement.excluded
    formed = ties.c.trade_count == 0  # no standing trade yet: this one forms the tie
    return statement.on_conflict_do_update(
        index_elements=[ties.c.ring_id, ties.c.member_low_id, ties.c.member_high_id],
        set_={
            "trade_count": ties.c.trade_count + new.trade_count,
            "minutes": ties.c.minutes + new.minutes,
            "first_transfer_id": case((formed, new.first_transfer_id), else_=ties.c.first_transfer_id),
            "first_date": case((formed | (new.first_date < ties.c.first_date), new.first_date),
                               else_=ties.c.first_date),
            "last_date": case((ties.c.last_date.is_(None) | (ties.c.last_date < new.last_date), new.last_date),
                              else_=ties.c.last_date),
        },
    )


def tie_record_trade(connection: Connection, *, ring_id: int, member_ids: tuple[int, int], transfer_id: int,
                     occurred_on: date, amount: int) -> None:
    """A trade between two members forms their tie, or strengthens it (one upsert, on the
    ledger's ``connection``: this runs for every trade)."""
    low, high = sorted(member_ids)
    connection.execute(_tie_upsert(connection.dialect.name), {
        "ring_id": ring_id, "member_low_id": low, "member_high_id": high, "first_transfer_id": transfer_id,
        "first_date": occurred_on, "last_date": occurred_on, "trade_count": 1, "minutes": amount,
    })


def _standing_trades(ring_id: int, low: int, high: int):
    """The pair's trades that were not reversed, oldest first."""
    payer, payee, reversal = aliased(Account), aliased(Account), aliased(Transfer)
    return (
        select(Transfer).join(payer, payer.id == Transfer.payer_account_id)
        .join(payee, payee.id == Transfer.payee_account_id)
        .where(Transfer.ring_id == ring_id, Transfer.kind == TransferKind.TRADE,
               or_(and_(payer.member_id == low, payee.member_id == high),
                   and_(payer.member_id == high, payee.member_id == low)),
               ~exists().where(reversal.reverses_id == Transfer.id))
        .order_by(Transfer.id)
    )


def tie_record_reversal(*, original: Transfer) -> None:
    """A reversed trade no longer counts as contact."""
    pair = _pair(original)
    if original.kind != TransferKind.TRADE or pair is None:
        return
    tie = _tie(original.ring_id, *pair)
    if tie is None:
        return
    tie.trade_count = max(0, tie.trade_count - 1)
    tie.minutes = max(0, tie.minutes - original.amount)
    db.session.flush()
    if tie.first_transfer_id == original.id or tie.trade_count == 0:
        remaining = db.session.scalars(_standing_trades(original.ring_id, *pair)).all()
        tie.first_transfer_id = remaining[0].id if remaining else None
        tie.first_date = min(t.occurred_on for t in remaining) if remaining else None
        tie.last_date = max(t.occurred_on for t in remaining) if remaining else None


def ties_rebuild(*, ring_id: int) -> int:
    """Recompute every tie of the ring from its standing trades, and the answer counts on
    each tie from its answers; returns how many ties there are. Existing tie rows (and
    their answers) are kept; only rows that differ are written, so a nightly run over a
    ring that is in order writes nothing. Works on plain rows, not ORM objects, so a ring
    with hundreds of thousands of ties fits in modest memory."""
    payer, payee, reversal = aliased(Account), aliased(Account), aliased(Transfer)
    low_expr = case((payer.member_id < payee.member_id, payer.member_id), else_=payee.member_id)
    high_expr = case((payer.member_id < payee.member_id, payee.member_id), else_=payer.member_id)
    trades = {(low, high): (count, minutes, first_id, first_date, last_date)
              for low, high, count, minutes, first_id, first_date, last_date in db.session.execute(
        select(low_expr, high_expr, func.count(), func.sum(Transfer.amount), func.min(Transfer.id),
               func.min(Transfer.occurred_on), func.max(Transfer.occurred_on))
        .join(payer, payer.id == Transfer.payer_account_id)
        .join(payee, payee.id == Transfer.payee_account_id)
        .where(Transfer.ring_id == ring_id, Transfer.kind == TransferKind.TRADE,
               payer.member_id.is_not(None), payee.member_id.is_not(None),
               ~exists().where(reversal.reverses_id == Transfer.id))
        .group_by(low_expr, high_expr))}
    tie_count = len(trades)
    answers = {tie_id: (yes, other) for tie_id, yes, other in db.session.execute(
        select(TieAnswer.tie_id, func.count().filter(TieAnswer.answer == ContactAnswer.YES),
               func.count().filter(TieAnswer.answer.in_((ContactAnswer.NO, ContactAnswer.BY_SIGHT))))
        .where(TieAnswer.ring_id == ring_id).group_by(TieAnswer.tie_id))}
    columns = ("trade_count", "minutes", "first_transfer_id", "first_date", "last_date")
    changed = []
    for row in db.session.execute(
            select(Tie.id, Tie.member_low_id, Tie.member_high_id, *(getattr(Tie, c) for c in columns),
                   Tie.answers_yes, Tie.answers_other).where(Tie.ring_id == ring_id)):
        tie_id, low, high, *stored = row
        wanted = (*trades.pop((low, high), (0, 0, None, None, None)), *answers.get(tie_id, (0, 0)))
        if tuple(stored) != wanted:
            changed.append(dict(zip(("id", *columns, "answers_yes", "answers_other"), (tie_id, *wanted))))
    if changed:
        db.session.execute(update(Tie), changed)
    if trades:  # pairs that traded but have no tie row yet
        db.session.execute(insert(Tie), [
            dict(ring_id=ring_id, member_low_id=low, member_high_id=high, **dict(zip(columns, values)))
            for (low, high), values in trades.items()])
    db.session.flush()
    return tie_count


def tie_answer(*, tie: Tie, member: Member, answer: ContactAnswer) -> TieAnswer:
    """One side answers "Kende je deze persoon al vóór deze ruil?" (once)."""
    if member.id not in (tie.member_low_id, tie.member_high_id):
        raise DomainError("not a party to this tie")
    existing = db.session.scalar(select(TieAnswer).where(TieAnswer.tie_id == tie.id,
                                                         TieAnswer.member_id == member.id))
    if existing is not None:
        return existing
    row = TieAnswer(ring_id=tie.ring_id, tie_id=tie.id, member_id=member.id, answer=ContactAnswer(answer))
    db.session.add(row)
    # Counted in SQL (answers_yes = answers_yes + 1), so the two sides answering at the
    # same moment cannot lose one another's count.
    if row.answer == ContactAnswer.YES:
        tie.answers_yes = Tie.answers_yes + 1
    elif row.answer in (ContactAnswer.NO, ContactAnswer.BY_SIGHT):
        tie.answers_other = Tie.answers_other + 1
    db.session.flush()
    return row


def unanswered_ties(*, member: Member, limit: int = 3) -> list[Tie]:
    """Ties of the member that they have not answered the contact question for."""
    return db.session.scalars(
        select(Tie).where(
            Tie.ring_id == member.ring_id, Tie.trade_count > 0,
            (Tie.member_low_id == member.id) | (Tie.member_high_id == member.id),
            ~exists().where(and_(TieAnswer.tie_id == Tie.id, TieAnswer.member_id == member.id)))
        .order_by(Tie.first_date.desc()).limit(limit)
    ).all()
