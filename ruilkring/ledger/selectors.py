"""Reads of the ledger: balances, statements, the ring's overview and follow-up lists."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from ruilkring import clock
from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.ledger.models import (
    Account,
    AccountKind,
    Entry,
    PaymentRequest,
    PaymentRequestStatus,
    Transfer,
)
from ruilkring.ledger.services import Limits, limits_in_force
from ruilkring.members.models import ACCESS_STATUSES, Member, MemberStatus
from ruilkring.rings.models import Ring

STATEMENT_PAGE = 25
NEAR_LIMIT_SHARE = 0.2  # warn within the last fifth of the allowed range


def member_account(member: Member) -> Account | None:
    return db.session.scalar(select(Account).where(Account.member_id == member.id))


@dataclass
class StatementLine:
    entry: Entry
    transfer: Transfer
    counterpart: Account


def account_statement(
    *, account: Account, before_version: int | None = None, date_from: date | None = None,
    date_to: date | None = None, limit: int | None = STATEMENT_PAGE,
) -> list[StatementLine]:
    """Entries newest first with running balance (``entry.balance_after``), their transfer
    and the other account. Paged by keyset: pass the last line's ``account_version`` as
    ``before_version`` for the next page. One indexed query on (account_id, account_version)."""
    other = aliased(Entry)
    query = (
        select(Entry, Transfer, Account)
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .join(other, and_(other.transfer_id == Entry.transfer_id, other.account_id != Entry.account_id))
        .join(Account, Account.id == other.account_id)
        .where(Entry.account_id == account.id)
        .order_by(Entry.account_version.desc())
        .options(joinedload(Account.member).joinedload(Member.user), joinedload(Transfer.entered_by))
    )
    if before_version is not None:
        query = query.where(Entry.account_version < before_version)
    if date_from is not None:
        query = query.where(Transfer.occurred_on >= date_from)
    if date_to is not None:
        query = query.where(Transfer.occurred_on <= date_to)
    if limit is not None:
        query = query.limit(limit)
    return [StatementLine(entry, transfer, counterpart)
            for entry, transfer, counterpart in db.session.execute(query).all()]


def account_name(account: Account) -> str:
    """How an account is shown: the member's name, or what the ring's own account is for."""
    from flask_babel import gettext

    if account.kind == AccountKind.POT:
        return gettext("Pot van de kring")
    if account.kind == AccountKind.OPENING:
        return gettext("Beginsaldi")
    return account.member.name


@dataclass
class LimitStatus:
    limits: Limits
    near_min: bool
    near_max: bool
    past: bool


def limit_status(account: Account) -> LimitStatus:
    """The limits in force and whether the balance is close to, at or past one of them."""
    limits = limits_in_force(account)
    span = (limits.max_balance or 0) - (limits.min_balance or 0)
    margin = span * NEAR_LIMIT_SHARE
    # No room between the limits (a leaving member's 0 and 0): nothing to be near of.
    near_min = span > 0 and limits.min_balance is not None and account.balance <= limits.min_balance + margin
    near_max = span > 0 and limits.max_balance is not None and account.balance >= limits.max_balance - margin
    past = ((limits.min_balance is not None and account.balance < limits.min_balance)
            or (limits.max_balance is not None and account.balance > limits.max_balance))
    return LimitStatus(limits, near_min, near_max, past)


def at_or_past_limit(ring: Ring):
    """SQL condition on ``Account`` joined with its ``Member``: the balance is at or past a
    limit in force (e.g. after it was tightened). A leaving member (limits 0 and 0) counts
    until their balance is zero."""
    min_in_force = func.coalesce(Account.min_balance, ring.default_min_balance)
    max_in_force = func.coalesce(Account.max_balance, ring.default_max_balance)
    leaving = Member.status == MemberStatus.LEAVING
    return or_(and_(leaving, Account.balance != 0),
               and_(~leaving, or_(Account.balance <= min_in_force, Account.balance >= max_in_force)))


def accounts_at_or_past_limit(*, ring: Ring) -> list[tuple[Account, Limits]]:
    """Member accounts at or past a limit, for follow-up (``at_or_past_limit``)."""
    accounts = db.session.scalars(
        select(Account).join(Member, Member.id == Account.member_id)
        .where(Account.ring_id == ring.id, Member.status.in_(ACCESS_STATUSES), at_or_past_limit(ring))
        .order_by(Account.balance)
        .options(joinedload(Account.member).joinedload(Member.user))
    ).all()
    return [(account, limits_in_force(account)) for account in accounts]


def ring_balance_sum(*, ring: Ring) -> int:
    """The sum of all balances of the ring: zero when the books are right."""
    return db.session.scalar(select(func.coalesce(func.sum(Account.balance), 0)).where(Account.ring_id == ring.id))


def ring_transfers(
    *, ring: Ring, member: Member | None = None, kind: str | None = None,
    date_from: date | None = None, date_to: date | None = None,
):
    """The ring's transfers, newest first, filtered; a query to page over."""
    query = (
        select(Transfer).where(Transfer.ring_id == ring.id)
        .order_by(Transfer.created_at.desc(), Transfer.id.desc())
        .options(joinedload(Transfer.payer).joinedload(Account.member).joinedload(Member.user),
                 joinedload(Transfer.payee).joinedload(Account.member).joinedload(Member.user),
                 joinedload(Transfer.entered_by))
    )
    if member is not None:
        account_id = select(Account.id).where(Account.member_id == member.id).scalar_subquery()
        query = query.where(or_(Transfer.payer_account_id == account_id, Transfer.payee_account_id == account_id))
    if kind:
        query = query.where(Transfer.kind == kind)
    if date_from:
        query = query.where(Transfer.occurred_on >= date_from)
    if date_to:
        query = query.where(Transfer.occurred_on <= date_to)
    return query


def monthly_totals(*, ring: Ring, months: int = 12) -> list[tuple[str, int, int]]:
    """(month 'YYYY-MM', number of trades, minutes) for the ring's trades, newest first.
    Reversed trades and their reversals are left out."""
    from ruilkring.ledger.models import TransferKind

    if db.engine.dialect.name == "postgresql":
        month = func.to_char(Transfer.occurred_on, "YYYY-MM")
    else:
        month = func.strftime("%Y-%m", Transfer.occurred_on)
    reversal = aliased(Transfer)
    rows = db.session.execute(
        select(month.label("month"), func.count(), func.sum(Transfer.amount))
        .outerjoin(reversal, reversal.reverses_id == Transfer.id)
        .where(Transfer.ring_id == ring.id, Transfer.kind == TransferKind.TRADE, reversal.id.is_(None))
        .group_by("month").order_by(month.desc()).limit(months)
    ).all()
    return [(m, count, minutes) for m, count, minutes in rows]


def pending_requests_for(*, member: Member) -> tuple[list[PaymentRequest], list[PaymentRequest]]:
    """(requests this member is asked to pay, requests this member sent), pending only."""
    def query(column):
        return db.session.scalars(
            select(PaymentRequest).where(column == member.id, PaymentRequest.status == PaymentRequestStatus.PENDING,
                                         PaymentRequest.expires_at > clock.now())
            .order_by(PaymentRequest.created_at.desc())
        ).all()
    return query(PaymentRequest.payer_id), query(PaymentRequest.payee_id)


def recent_requests(*, member: Member, limit: int = 20) -> list[PaymentRequest]:
    """The member's handled requests (either side), newest first."""
    return db.session.scalars(
        select(PaymentRequest)
        .where(or_(PaymentRequest.payer_id == member.id, PaymentRequest.payee_id == member.id),
               PaymentRequest.status != PaymentRequestStatus.PENDING)
        .order_by(PaymentRequest.created_at.desc()).limit(limit)
    ).all()


def member_search(*, ring: Ring, q: str, exclude: Member | None = None, limit: int | None = 10) -> list[Member]:
    """Members of the ring whose name contains ``q`` (for choosing whom to pay); at most
    ``limit`` (None: all)."""
    query = (
        select(Member).join(User, User.id == Member.user_id)
        .where(Member.ring_id == ring.id, Member.status.in_(ACCESS_STATUSES))
        .order_by(func.lower(User.name)).limit(limit)
    )
    if q.strip():
        query = query.where(func.lower(User.name).contains(q.strip().lower(), autoescape=True))
    if exclude is not None:
        query = query.where(Member.id != exclude.id)
    return db.session.scalars(query).all()
