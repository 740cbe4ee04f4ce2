"""Monthly rollups per member, kept current by the ledger's write path and rebuildable.

Every standing trade adds to its payer's ``trades_given`` and its payee's
``trades_received`` in the month it happened; a reversal takes it off again. The accounts
of both members are locked by the write path, so their rows are not raced for.
"""

from datetime import date

from sqlalchemy import delete, exists, func, insert, literal, select, union_all
from sqlalchemy.orm import aliased

from ruilkring.extensions import db
from ruilkring.ledger.models import Account, Transfer, TransferKind
from ruilkring.stats.models import MemberMonth


def month_of(day: date) -> date:
    return day.replace(day=1)


def _add(ring_id: int, member_id: int, month: date, given: int, received: int, minutes_given: int,
         minutes_received: int) -> None:
    row = db.session.get(MemberMonth, (ring_id, member_id, month))
    if row is None:
        row = MemberMonth(ring_id=ring_id, member_id=member_id, month=month, trades_given=0, trades_received=0,
                          minutes_given=0, minutes_received=0)
        db.session.add(row)
    row.trades_given += given
    row.trades_received += received
    row.minutes_given += minutes_given
    row.minutes_received += minutes_received


def rollup_record(*, transfer: Transfer, sign: int = 1) -> None:
    """Count a standing trade between two members (``sign=-1`` when it is reversed)."""
    payer, payee = transfer.payer.member_id, transfer.payee.member_id
    if transfer.kind != TransferKind.TRADE or payer is None or payee is None:
        return
    month = month_of(transfer.occurred_on)
    _add(transfer.ring_id, payer, month, sign, 0, sign * transfer.amount, 0)
    _add(transfer.ring_id, payee, month, 0, sign, 0, sign * transfer.amount)
    db.session.flush()


def _month_expression(column):
    if db.engine.dialect.name == "postgresql":
        return func.cast(func.date_trunc("month", column), db.Date)
    return func.date(column, "start of month")


def rollups_rebuild(*, ring_id: int) -> int:
    """Recompute the ring's monthly rollups from its standing trades; returns the rows."""
    db.session.execute(delete(MemberMonth).where(MemberMonth.ring_id == ring_id))
    payer, payee, reversal = aliased(Account), aliased(Account), aliased(Transfer)
    month = _month_expression(Transfer.occurred_on).label("month")
    standing = (
        select(Transfer.id, Transfer.amount, month, payer.member_id.label("payer"), payee.member_id.label("payee"))
        .join(payer, payer.id == Transfer.payer_account_id).join(payee, payee.id == Transfer.payee_account_id)
        .where(Transfer.ring_id == ring_id, Transfer.kind == TransferKind.TRADE,
               payer.member_id.is_not(None), payee.member_id.is_not(None),
               ~exists().where(reversal.reverses_id == Transfer.id))
        .subquery()
    )
    sides = union_all(
        select(standing.c.payer.label("member_id"), standing.c.month, literal(1).label("given"),
               literal(0).label("received"), standing.c.amount.label("m_given"), literal(0).label("m_received")),
        select(standing.c.payee, standing.c.month, literal(0), literal(1), literal(0), standing.c.amount),
    ).subquery()
    db.session.execute(
        insert(MemberMonth).from_select(
            ["ring_id", "member_id", "month", "trades_given", "trades_received", "minutes_given", "minutes_received"],
            select(literal(ring_id), sides.c.member_id, sides.c.month, func.sum(sides.c.given),
                   func.sum(sides.c.received), func.sum(sides.c.m_given), func.sum(sides.c.m_received))
            .group_by(sides.c.member_id, sides.c.month),
        )
    )
    db.session.flush()
    # Counted, since the drivers differ in what rowcount says after INSERT ... SELECT.
    return db.session.scalar(select(func.count()).select_from(MemberMonth).where(MemberMonth.ring_id == ring_id))
