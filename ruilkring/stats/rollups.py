"""Monthly rollups per member, kept current by the ledger's write path and rebuildable.

Every standing trade adds to its payer's ``trades_given`` and its payee's
``trades_received`` in the month it happened; a reversal takes it off again. The accounts
of both members are locked by the write path, so their rows are not raced for.
"""

import functools
from datetime import date

from sqlalchemy import delete, exists, func, insert, literal, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from ruilkring.database import upsert
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, Transfer, TransferKind
from ruilkring.stats.models import MemberMonth


def month_of(day: date) -> date:
    return day.replace(day=1)


@functools.cache
def _member_month_upsert(dialect: str):
    months = MemberMonth.__table__
    statement = upsert(months, dialect)
    counts = ("trades_given", "trades_received", "minutes_given", "minutes_received")
    return statement.on_conflict_do_update(
        index_elements=[months.c.ring_id, months.c.member_id, months.c.month],
        set_={name: months.c[name] + statement.excluded[name] for name in counts},
    )


def rollup_record(connection: Connection, *, ring_id: int, payer_member_id: int, payee_member_id: int,
                  occurred_on: date, amount: int, sign: int = 1) -> None:
    """Count a standing trade between two members in their month (``sign=-1`` when it is
    reversed): both rows in one executemany of a cached upsert, on the ledger's ``connection``."""
    month, minutes = month_of(occurred_on), sign * amount
    connection.execute(_member_month_upsert(connection.dialect.name), [
        {"ring_id": ring_id, "member_id": payer_member_id, "month": month, "trades_given": sign,
         "trades_received": 0, "minutes_given": minutes, "minutes_received": 0},
        {"ring_id": ring_id, "member_id": payee_member_id, "month": month, "trades_given": 0,
         "trades_received": sign, "minutes_given": 0, "minutes_received": minutes},
    ])


def rollup_record_reversal(*, original: Transfer) -> None:
    """A reversed trade between two members no longer counts in its month."""
    payer, payee = original.payer.member_id, original.payee.member_id
    if original.kind == TransferKind.TRADE and payer is not None and payee is not None:
        rollup_record(db.session.connection(), ring_id=original.ring_id, payer_member_id=payer,
                      payee_member_id=payee, occurred_on=original.occurred_on, amount=original.amount, sign=-1)


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
