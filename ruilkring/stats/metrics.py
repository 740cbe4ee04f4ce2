"""The social-effect measures M1-M12 of DESIGN section 5, as SQL over indexed tables.

Every function takes a ring (or a list of ring ids) and a ``Period`` and returns plain
numbers; the coordinator dashboard, the municipality dashboard (through the privacy
rules) and the CSV downloads all read from here. Trades are the standing trades between
two members: reversed trades and reversals do not count.
"""

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, Entry, Transfer, TransferKind
from ruilkring.listings.models import Category, Listing
from ruilkring.members.models import Member, MemberStatus
from ruilkring.rings.models import Neighbourhood
from ruilkring.stats.models import MemberMonth, Tie

AGE_BANDS = ((0, 29, "<30"), (30, 44, "30-44"), (45, 64, "45-64"), (65, 79, "65-79"), (80, 200, "80+"))
PARTNER_BINS = ("0", "1", "2-4", "5-9", "10+")
COUNTED_STATUSES = (MemberStatus.ACTIVE, MemberStatus.LEAVING, MemberStatus.INACTIVE)


@dataclass(frozen=True)
class Period:
    """A half-open range of days [start, end)."""

    start: date
    end: date

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        start = date(year, month, 1)
        return cls(start, _add_months(start, 1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> "Period":
        start = date(year, 3 * (quarter - 1) + 1, 1)
        return cls(start, _add_months(start, 3))

    @classmethod
    def year(cls, year: int) -> "Period":
        return cls(date(year, 1, 1), date(year + 1, 1, 1))

    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        if self.start.day == 1 and self.end.day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            return Period(_add_months(self.start, -months), self.start)
        return Period(self.start - (self.end - self.start), self.start)

    def months(self) -> list[date]:
        """First days of the months the period touches."""
        result, month = [], self.start.replace(day=1)
        while month < self.end:
            result.append(month)
            month = _add_months(month, 1)
        return result


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def age_band(birth_year: int | None, on: date) -> str | None:
    if birth_year is None:
        return None
    age = on.year - birth_year
    return next(label for low, high, label in AGE_BANDS if low <= age <= high)


def _standing_trades(ring_ids: list[int]):
    """Standing trades between two members: (id, amount, occurred_on, payer, payee, listing)."""
    payer, payee, reversal = aliased(Account), aliased(Account), aliased(Transfer)
    return (
        select(Transfer.id, Transfer.amount, Transfer.occurred_on, Transfer.listing_id,
               payer.member_id.label("payer"), payee.member_id.label("payee"))
        .join(payer, payer.id == Transfer.payer_account_id)
        .join(payee, payee.id == Transfer.payee_account_id)
        .where(Transfer.ring_id.in_(ring_ids), Transfer.kind == TransferKind.TRADE,
               payer.member_id.is_not(None), payee.member_id.is_not(None),
               ~exists().where(reversal.reverses_id == Transfer.id))
    )


def _in(column, period: Period):
    return and_(column >= period.start, column < period.end)


# M1, M8 and the monthly series: from the rollups.

@dataclass
class Activity:
    members: int  # members at the end of the period (active, leaving or inactive)
    active: int  # M1: gave or received in the period
    reciprocal: int  # M8: both gave and received
    trades: int
    minutes: int

    @property
    def active_share(self) -> float | None:
        return self.active / self.members if self.members else None

    @property
    def reciprocity(self) -> float | None:
        return self.reciprocal / self.active if self.active else None


def members_at(ring_ids: list[int], day: date) -> int:
    """Members who had joined by ``day`` and had not left or been declined."""
    return db.session.scalar(select(func.count()).select_from(Member).where(
        Member.ring_id.in_(ring_ids), Member.status.in_(COUNTED_STATUSES),
        func.coalesce(Member.approved_at, Member.created_at) < _day_start(day))) or 0


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def activity(ring_ids: list[int], period: Period) -> Activity:
    """M1 active members, M8 reciprocity, trades and minutes in the period."""
    per_member = (
        select(MemberMonth.member_id, func.sum(MemberMonth.trades_given).label("given"),
               func.sum(MemberMonth.trades_received).label("received"),
               func.sum(MemberMonth.minutes_given).label("minutes"))
        .where(MemberMonth.ring_id.in_(ring_ids), _in(MemberMonth.month, period))
        .group_by(MemberMonth.member_id).subquery()
    )
    active, reciprocal, trades, minutes = db.session.execute(select(
        func.count().filter(or_(per_member.c.given > 0, per_member.c.received > 0)),
        func.count().filter(and_(per_member.c.given > 0, per_member.c.received > 0)),
        func.coalesce(func.sum(per_member.c.given), 0),
        func.coalesce(func.sum(per_member.c.minutes), 0),
    )).one()
    return Activity(members_at(ring_ids, period.end), active, reciprocal, int(trades), int(minutes))


def monthly_series(ring_ids: list[int], period: Period) -> list[dict]:
    """Per month: members, active members, trades, hours, new ties and new contacts
    (a handful of grouped queries, whatever the number of months)."""
    months = period.months()
    activity_rows = {month: (active, trades, minutes) for month, active, trades, minutes in db.session.execute(
        select(MemberMonth.month, func.count(), func.sum(MemberMonth.trades_given), func.sum(MemberMonth.minutes_given))
        .where(MemberMonth.ring_id.in_(ring_ids), _in(MemberMonth.month, period),
               or_(MemberMonth.trades_given > 0, MemberMonth.trades_received > 0))
        .group_by(MemberMonth.month))}
    joined = db.session.scalars(select(func.coalesce(Member.approved_at, Member.created_at)).where(
        Member.ring_id.in_(ring_ids), Member.status.in_(COUNTED_STATUSES))).all()
    ties = _ties_by_month(ring_ids, period)
    rows = []
    for month in months:
        end = _day_start(_add_months(month, 1))
        active, trades, minutes = activity_rows.get(month, (0, 0, 0))
        new, contacts = ties.get(month, (0, 0))
        rows.append({"month": month, "members": sum(1 for day in joined if day < end), "active": active,
                     "trades": int(trades or 0), "minutes": int(minutes or 0), "new_ties": new,
                     "new_contacts": contacts})
    return rows


#: A tie is a new contact when both sides answered (no, or by sight) and neither said "ja".
NEW_CONTACT = and_(Tie.answers_yes == 0, Tie.answers_other >= 2)


def _ties_formed_in(ring_ids: list[int], period: Period):
    return and_(Tie.ring_id.in_(ring_ids), Tie.trade_count > 0, _in(Tie.first_date, period))


def _ties_by_month(ring_ids: list[int], period: Period) -> dict[date, tuple[int, int]]:
    """New ties and new contacts per month, grouped per day in SQL (which both databases
    do alike) and folded into months here."""
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for first_date, ties, contacts in db.session.execute(
            select(Tie.first_date, func.count(), func.count().filter(NEW_CONTACT))
            .where(_ties_formed_in(ring_ids, period)).group_by(Tie.first_date)):
        month = first_date.replace(day=1)
        counts[month][0] += ties
        counts[month][1] += contacts
    return {month: (new, contacts) for month, (new, contacts) in counts.items()}


# M2, M2n, M3, M4: ties and new contacts.

@dataclass
class NewTies:
    new_ties: int  # M2
    new_contacts: int  # M2n: both sides answered and neither said "ja"
    known: int  # at least one side said "ja"
    unknown: int  # no "ja", but not both answered
    trades: int
    first_contact_trades: int  # trades that formed a tie

    @property
    def first_contact_share(self) -> float | None:  # M4
        return self.first_contact_trades / self.trades if self.trades else None


def new_ties(ring_ids: list[int], period: Period) -> NewTies:
    """M2 new ties in the period, split by what the two sides answered, and M4: every new
    tie was formed by exactly one trade of the period, so M4 is new ties over trades."""
    total, known, new = db.session.execute(select(
        func.count(), func.count().filter(Tie.answers_yes > 0), func.count().filter(NEW_CONTACT),
    ).where(_ties_formed_in(ring_ids, period))).one()
    trades = db.session.scalar(select(func.coalesce(func.sum(MemberMonth.trades_given), 0)).where(
        MemberMonth.ring_id.in_(ring_ids), _in(MemberMonth.month, period))) or 0
    return NewTies(total, new, known, total - known - new, int(trades), total)


# M5, M6, M9: the network up to the end of the period.

def ties_until(ring_ids: list[int], end: date):
    """The condition for ties formed before ``end``."""
    return and_(Tie.ring_id.in_(ring_ids), Tie.trade_count > 0, Tie.first_date < end)


def largest_group(pairs) -> int:
    """The number of members in the largest connected group of ``pairs`` (member id
    pairs; a sparse graph's connected components, in C: a ring of 10,000 members has
    hundreds of thousands of ties)."""
    if not pairs:
        return 0
    ends = np.fromiter(chain.from_iterable(pairs), dtype=np.int64, count=2 * len(pairs)).reshape(-1, 2)
    nodes, index = np.unique(ends, return_inverse=True)
    index = index.reshape(ends.shape)
    graph = coo_matrix((np.ones(len(ends), dtype=np.int8), (index[:, 0], index[:, 1])),
                       shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    return int(np.bincount(labels).max())


@dataclass
class Network:
    partners_median: float  # M5, over members with access at the end
    partner_bins: dict[str, int]
    pairs: int
    repeat_pairs: int  # M6: pairs with 2 or more trades
    trading_members: int
    largest_group: int  # M9

    @property
    def repeat_share(self) -> float | None:
        return self.repeat_pairs / self.pairs if self.pairs else None

    @property
    def largest_group_share(self) -> float | None:
        return self.largest_group / self.trading_members if self.trading_members else None


def network(ring_ids: list[int], period: Period) -> Network:
    """M5 trading partners per member, M6 repeat ties (pairs with two or more standing
    trades, counted to date) and M9 the largest connected group, for the network as it
    stood at the end of the period."""
    ties = db.session.execute(select(Tie.member_low_id, Tie.member_high_id, Tie.trade_count)
                              .where(ties_until(ring_ids, period.end))).all()
    pairs = [(low, high) for low, high, _ in ties]
    partners = Counter(chain.from_iterable(pairs))
    members = db.session.scalars(select(Member.id).where(
        Member.ring_id.in_(ring_ids), Member.status.in_(COUNTED_STATUSES),
        func.coalesce(Member.approved_at, Member.created_at) < _day_start(period.end))).all()
    counts = [partners.get(member, 0) for member in members]
    bins = dict.fromkeys(PARTNER_BINS, 0)
    for count in counts:
        bins["0" if count == 0 else "1" if count == 1 else "2-4" if count <= 4 else "5-9" if count <= 9 else "10+"] += 1
    return Network(statistics.median(counts) if counts else 0, bins, len(pairs),
                   sum(1 for *_, trades in ties if trades >= 2), len(partners), largest_group(pairs))


# M7: bridging across wijken and age bands.

@dataclass
class Bridging:
    ties: int  # new ties in the period with both sides' group known
    across: int
    expected_share: float | None  # 1 - sum of squared group shares among active members

    @property
    def share(self) -> float | None:
        return self.across / self.ties if self.ties else None

    @property
    def ratio(self) -> float | None:
        if self.share is None or not self.expected_share:
            return None
        return self.share / self.expected_share


def bridging(ring_ids: list[int], period: Period, by: str = "wijk") -> Bridging:
    """M7: the share of new ties that cross wijken (``by="wijk"``) or age bands
    (``by="age"``), beside the share expected if members mixed at random."""
    def group(value) -> object:
        return value if by == "wijk" else age_band(value, period.end)

    column = (lambda member: member.neighbourhood_id) if by == "wijk" else (lambda member: member.birth_year)
    low, high = aliased(Member), aliased(Member)
    ties = across = 0
    for a, b, count in db.session.execute(
            select(column(low), column(high), func.count())
            .select_from(Tie).join(low, low.id == Tie.member_low_id).join(high, high.id == Tie.member_high_id)
            .where(_ties_formed_in(ring_ids, period), column(low).is_not(None), column(high).is_not(None))
            .group_by(column(low), column(high))):
        ties += count
        across += count if group(a) != group(b) else 0
    active = select(MemberMonth.member_id).where(MemberMonth.ring_id.in_(ring_ids), _in(MemberMonth.month, period))
    groups = Counter()
    for value, count in db.session.execute(
            select(column(Member), func.count()).where(Member.id.in_(active), column(Member).is_not(None))
            .group_by(column(Member))):
        groups[group(value)] += count
    total = sum(groups.values())
    expected = 1 - sum((n / total) ** 2 for n in groups.values()) if total else None
    return Bridging(ties, across, expected)


# M10: named follow-up lists (coordinators only).

def never_traded(ring_ids: list[int], today: date | None = None) -> list[Member]:
    """Members who joined 90 or more days ago and never had a standing trade."""
    today = today or clock.now().date()
    traded = select(MemberMonth.member_id).where(MemberMonth.ring_id.in_(ring_ids),
                                                 or_(MemberMonth.trades_given > 0, MemberMonth.trades_received > 0))
    return db.session.scalars(select(Member).where(
        Member.ring_id.in_(ring_ids), Member.status == MemberStatus.ACTIVE,
        func.coalesce(Member.approved_at, Member.created_at) <= _day_start(today - timedelta(days=90)),
        Member.id.not_in(traded)).order_by(Member.created_at)).all()


def dormant(ring_ids: list[int], today: date | None = None) -> list[tuple[Member, date]]:
    """Members who traded before but not in the last six months, with their last month."""
    today = today or clock.now().date()
    last = (select(MemberMonth.member_id, func.max(MemberMonth.month).label("last"))
            .where(MemberMonth.ring_id.in_(ring_ids), or_(MemberMonth.trades_given > 0, MemberMonth.trades_received > 0))
            .group_by(MemberMonth.member_id).subquery())
    cutoff = _add_months(today.replace(day=1), -6)
    rows = db.session.execute(select(Member, last.c.last).join(last, last.c.member_id == Member.id).where(
        Member.status == MemberStatus.ACTIVE, last.c.last < cutoff).order_by(last.c.last)).all()
    return [(member, last_month) for member, last_month in rows]


# M11: retention by join cohort.

def _joined_in(ring_ids: list[int], period: Period):
    """(member id, joined at) of the members who joined in the period (left ones too)."""
    joined = func.coalesce(Member.approved_at, Member.created_at)
    return select(Member.id, joined.label("joined")).where(
        Member.ring_id.in_(ring_ids), Member.status.in_(COUNTED_STATUSES + (MemberStatus.LEFT,)),
        joined >= _day_start(period.start), joined < _day_start(period.end))


def _months_traded(members) -> dict[int, set[date]]:
    """The months in which each of ``members`` (a query of member ids first) traded."""
    months = defaultdict(set)
    for member_id, month in db.session.execute(select(MemberMonth.member_id, MemberMonth.month).where(
            MemberMonth.member_id.in_(select(members.subquery().c.id)),
            or_(MemberMonth.trades_given > 0, MemberMonth.trades_received > 0))):
        months[member_id].add(month)
    return months


@dataclass
class Cohort:
    month: date
    size: int
    retained: list[float | None] = field(default_factory=list)  # share trading in month k after joining


def retention(ring_ids: list[int], period: Period, horizon: int = 6) -> tuple[list[Cohort], float | None]:
    """For each join month in the period: the share of its members who traded in each of
    the following months; and the median days from joining to the first trade."""
    joined_in = _joined_in(ring_ids, period)
    members = db.session.execute(joined_in).all()
    months_traded = _months_traded(joined_in)
    cohorts: dict[date, list[int]] = defaultdict(list)
    joined_on = {}
    for member_id, joined in members:
        cohorts[joined.date().replace(day=1)].append(member_id)
        joined_on[member_id] = joined.date()
    today = clock.now().date()
    result = []
    for month in sorted(cohorts):
        ids = cohorts[month]
        retained = []
        for k in range(horizon + 1):
            target = _add_months(month, k)
            retained.append(None if target > today else
                            sum(1 for m in ids if target in months_traded[m]) / len(ids))
        result.append(Cohort(month, len(ids), retained))
    # Each member's first trade, through their account's entries (indexed per account).
    first_trade = dict(db.session.execute(
        select(Account.member_id, func.min(Transfer.occurred_on))
        .join(Entry, Entry.account_id == Account.id).join(Transfer, Transfer.id == Entry.transfer_id)
        .where(Account.member_id.in_(select(joined_in.subquery().c.id)), Transfer.kind == TransferKind.TRADE)
        .group_by(Account.member_id)).all())
    days = [(first_trade[m] - joined_on[m]).days for m in joined_on if m in first_trade]
    return result, (statistics.median(days) if days else None)


# M12: trades by kind of help and by category.

def trades_by_help(ring_ids: list[int], period: Period) -> dict[str, tuple[int, int]]:
    """Trades and minutes per kind of help of the listing they were for ("unknown" when
    the trade named no listing)."""
    trades = _standing_trades(ring_ids).where(_in(Transfer.occurred_on, period)).subquery()
    rows = db.session.execute(
        select(Listing.help_kind, func.count(), func.sum(trades.c.amount))
        .select_from(trades).outerjoin(Listing, Listing.id == trades.c.listing_id)
        .group_by(Listing.help_kind)).all()
    return {(kind.value if kind else "unknown"): (count, int(minutes or 0)) for kind, count, minutes in rows}


def trades_by_category(ring_ids: list[int], period: Period) -> list[tuple[str, bool, int, int]]:
    """(category, is care, trades, minutes), most trades first; trades without a listing last."""
    trades = _standing_trades(ring_ids).where(_in(Transfer.occurred_on, period)).subquery()
    rows = db.session.execute(
        select(Category.name, Category.care, func.count(), func.sum(trades.c.amount))
        .select_from(trades).outerjoin(Listing, Listing.id == trades.c.listing_id)
        .outerjoin(Category, Category.id == Listing.category_id)
        .group_by(Category.name, Category.care).order_by(func.count().desc())).all()
    return [(name, bool(care), count, int(minutes or 0)) for name, care, count, minutes in rows]


def participation_by_group(ring_ids: list[int], period: Period, by: str = "wijk") -> list[tuple[str, int, int]]:
    """(group, members, active members) per wijk or age band, for the municipality view."""
    active = set(db.session.scalars(select(MemberMonth.member_id).where(
        MemberMonth.ring_id.in_(ring_ids), _in(MemberMonth.month, period),
        or_(MemberMonth.trades_given > 0, MemberMonth.trades_received > 0)).distinct()))
    members = db.session.execute(select(Member.id, Member.birth_year, Neighbourhood.name)
                                 .outerjoin(Neighbourhood, Neighbourhood.id == Member.neighbourhood_id)
                                 .where(Member.ring_id.in_(ring_ids), Member.status.in_(COUNTED_STATUSES),
                                        func.coalesce(Member.approved_at, Member.created_at) < _day_start(period.end))
                                 ).all()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for member_id, birth_year, wijk in members:
        key = (wijk or "?") if by == "wijk" else (age_band(birth_year, period.end) or "?")
        totals[key][0] += 1
        totals[key][1] += member_id in active
    return sorted((key, total, act) for key, (total, act) in totals.items())


def retention_in_quarters(ring_ids: list[int], joined_in: Period) -> tuple[int, int, int]:
    """Of the members who joined in ``joined_in``: how many, how many traded within three
    months of their join month, and how many in the three months after that."""
    joiners = _joined_in(ring_ids, joined_in)
    members = db.session.execute(joiners).all()
    if not members:
        return 0, 0, 0
    months_traded = _months_traded(joiners)
    first = second = 0
    for member_id, joined in members:
        start = joined.date().replace(day=1)
        traded = months_traded[member_id]
        first += any(_add_months(start, k) in traded for k in range(3))
        second += any(_add_months(start, k) in traded for k in range(3, 6))
    return len(members), first, second
