"""Reads about members, always scoped to one ring."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, Transfer, TransferKind
from ruilkring.ledger.selectors import at_or_past_limit
from ruilkring.members.models import ACCESS_STATUSES, Member, MemberStatus
from ruilkring.rings.models import Ring


@dataclass
class AdminRow:
    """A line of the coordinator's member list."""

    member: Member
    balance: int | None
    min_balance: int | None
    max_balance: int | None
    last_trade: date | None


def member_admin_list(
    *, ring: Ring, status: str | None = None, q: str | None = None, neighbourhood_id: int | None = None,
    never_traded: bool = False, at_limit: bool = False, member_id: int | None = None,
) -> list[AdminRow]:
    """The coordinator's member list with balance, limits in force and last trade, pending
    sign-ups first, then by name. One query, whatever the number of members."""
    reversal = aliased(Transfer)
    last_trade = (  # the last trade that stands: a reversed one does not count
        select(func.max(Transfer.occurred_on))
        .where(Transfer.kind == TransferKind.TRADE,
               or_(Transfer.payer_account_id == Account.id, Transfer.payee_account_id == Account.id),
               ~exists().where(reversal.reverses_id == Transfer.id))
        .correlate(Account).scalar_subquery()
    )
    min_in_force = func.coalesce(Account.min_balance, ring.default_min_balance)
    max_in_force = func.coalesce(Account.max_balance, ring.default_max_balance)
    query = (
        select(Member, Account.balance, min_in_force, max_in_force, last_trade)
        .join(User, Member.user_id == User.id)
        .outerjoin(Account, Account.member_id == Member.id)
        .where(Member.ring_id == ring.id)
        .order_by((Member.status == MemberStatus.PENDING).desc(), func.lower(User.name))
        .options(joinedload(Member.user), joinedload(Member.neighbourhood))
    )
    if status:
        query = query.where(Member.status == MemberStatus(status))
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(User.name).like(pattern), func.lower(User.email).like(pattern)))
    if neighbourhood_id:
        query = query.where(Member.neighbourhood_id == neighbourhood_id)
    if never_traded:
        query = query.where(last_trade.is_(None))
    if at_limit:
        query = query.where(at_or_past_limit(ring))
    if member_id is not None:
        query = query.where(Member.id == member_id)
    return [AdminRow(*row) for row in db.session.execute(query).all()]


def ring_member(*, ring: Ring, member_id: int | None) -> Member | None:
    """The member of ``ring`` with this id who takes part (active or leaving), or None."""
    member = db.session.get(Member, member_id) if member_id else None
    if member is None or member.ring_id != ring.id or member.status not in ACCESS_STATUSES:
        return None
    return member


def member_directory(*, ring: Ring) -> list[Member]:
    """Members other members may find: active and leaving ones, by name."""
    return list(db.session.scalars(
        select(Member).join(User, Member.user_id == User.id)
        .where(Member.ring_id == ring.id, Member.status.in_(ACCESS_STATUSES))
        .order_by(func.lower(User.name))
    ))


def status_counts(*, ring: Ring) -> dict[MemberStatus, int]:
    """How many members the ring has in each status."""
    rows = db.session.execute(
        select(Member.status, func.count()).where(Member.ring_id == ring.id).group_by(Member.status)
    )
    return {status: count for status, count in rows}


def visible_contact(*, member: Member, viewer_is_coordinator: bool) -> dict[str, str]:
    """The contact details a viewer may see: what the member chose to share, or all of
    them for coordinators."""
    user = member.user
    details = {
        "email": (user.email, member.share_email),
        "phone": (user.phone, member.share_phone),
        "address": (user.address, member.share_address),
    }
    return {
        key: value for key, (value, shared) in details.items()
        if value and (shared or viewer_is_coordinator)
    }
