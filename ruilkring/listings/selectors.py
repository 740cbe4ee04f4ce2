"""Reads of listings. ``listing_search`` is the one search used by the page, the API and
the weekly digest."""

import re
from datetime import date, timedelta

from flask_sqlalchemy.pagination import Pagination, SelectPagination
from sqlalchemy import Select, exists, func, literal_column, or_, select, text, true
from sqlalchemy.orm import contains_eager, joinedload

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.listings.models import Category, Listing, ListingKind, ListingStatus
from ruilkring.members.models import ACCESS_STATUSES, Member
from ruilkring.rings.models import Ring

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 8


def search_terms(q: str) -> list[str]:
    """The words of a search, lower-case, at most eight (each a prefix)."""
    return [word.lower() for word in _WORD.findall(q or "")][:MAX_TERMS]


def _text_match(terms: list[str], *, ring: Ring):
    """A condition on the ring's Listings that every term starts a word of its title or
    description, ignoring case and accents, with the database's own full-text index."""
    if db.engine.dialect.name == "postgresql":
        tsquery = func.to_tsquery(literal_column("'dutch'"), func.ruilkring_unaccent(" & ".join(f"{t}:*" for t in terms)))
        # The dutch configuration drops stop words: a search of stop words only ("de",
        # "een") would match nothing, so it matches everything, as on SQLite.
        if db.session.scalar(select(func.numnode(tsquery))) == 0:
            return true()
        # The stored search_vector column has its own GIN index (see the listing search
        # migration); testing a row against it parses no text, whichever plan is chosen.
        return literal_column("listings.search_vector").op("@@")(tsquery)
    match = " ".join('"{}"*'.format(term.replace('"', '""')) for term in terms)
    return Listing.id.in_(
        select(literal_column("rowid")).select_from(text("listings_search"))
        .where(text("listings_search MATCH :match").bindparams(match=match))
    )


def visible_listings(*, ring: Ring) -> Select:
    """Active, unexpired listings of the ring whose owners take part."""
    today = clock.now().date()
    return (
        select(Listing).join(Member, Member.id == Listing.owner_id)
        .where(Listing.ring_id == ring.id, Listing.status == ListingStatus.ACTIVE,
               Listing.valid_until >= today, Member.status.in_(ACCESS_STATUSES))
    )


def listing_search(
    *, ring: Ring, q: str = "", kind: str | None = None, category_id: int | None = None,
    neighbourhood_id: int | None = None, new_this_week: bool = False, since=None,
) -> Select:
    """Search the ring's visible listings, newest first: words in title or description
    (prefixes, accent- and case-insensitive), kind, category, the owner's wijk, new this
    week (or since a moment). ``listing_search_page`` pages it, with the viewer's own wijk
    first when asked."""
    # The owner comes from the join that visible_listings already makes (a second,
    # eager join of members would only widen every row the database sorts).
    query = visible_listings(ring=ring).options(
        contains_eager(Listing.owner).joinedload(Member.user),
        contains_eager(Listing.owner).joinedload(Member.neighbourhood),
        joinedload(Listing.category),
    )
    terms = search_terms(q)
    if terms:
        query = query.where(_text_match(terms, ring=ring))
    if kind:
        query = query.where(Listing.kind == ListingKind(kind))
    if category_id:
        query = query.where(Listing.category_id == category_id)
    if neighbourhood_id:
        query = query.where(Member.neighbourhood_id == neighbourhood_id)
    if new_this_week:
        since = clock.now() - timedelta(days=7)
    if since is not None:
        query = query.where(Listing.created_at >= since)
    return query.order_by(Listing.created_at.desc(), Listing.id.desc())


class _OwnWijkFirst(SelectPagination):
    """Pages of "mijn wijk eerst": the listings of the viewer's wijk, newest first, then
    all others, newest first. Each part is read in the order the ``created_at`` index
    gives, so no query sorts every listing by wijk (docs/BENCHMARKS.md)."""

    def _query_items(self) -> list[Listing]:
        query, wijk, session = self._query_args["select"], self._query_args["wijk"], self._query_args["session"]
        own = query.where(Member.neighbourhood_id == wijk)
        own_count = session.scalar(select(func.count()).select_from(own.order_by(None).subquery()))
        offset, items = self._query_offset, []
        if offset < own_count:
            items = list(session.scalars(own.limit(self.per_page).offset(offset)).unique())
        if len(items) < self.per_page:
            others = query.where(Member.neighbourhood_id.is_distinct_from(wijk))
            items += session.scalars(others.limit(self.per_page - len(items))
                                     .offset(max(0, offset - own_count))).unique()
        return items


def listing_search_page(
    *, page: int | None, per_page: int, sort: str = "newest", viewer: Member | None = None, **criteria,
) -> Pagination:
    """One page of ``listing_search(**criteria)``, newest first, or with the viewer's own
    wijk first (``sort="nearby"``)."""
    query = listing_search(**criteria)
    if sort == "nearby" and viewer is not None and viewer.neighbourhood_id is not None:
        return _OwnWijkFirst(select=query, session=db.session, wijk=viewer.neighbourhood_id, page=page,
                             per_page=per_page, error_out=False)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def listing_for(*, ring: Ring, listing_id: int, viewer: Member | None, coordinator: bool,
                for_change: bool = False) -> Listing | None:
    """The listing of ``ring`` the viewer may see, or None: hidden, paused and expired ones
    only for their owner and coordinators; ``for_change`` also requires being one of those."""
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.ring_id != ring.id:
        return None
    own = viewer is not None and listing.owner_id == viewer.id
    visible = listing.status == ListingStatus.ACTIVE and listing.valid_until >= clock.now().date()
    if (for_change or not visible) and not (own or coordinator):
        return None
    return listing


def listing_matches(*, listing: Listing, limit: int = 5) -> list[Listing]:
    """Listings of the other kind that could answer this one: same category, or sharing
    a word of the title."""
    other_kind = ListingKind.OFFER if listing.kind == ListingKind.REQUEST else ListingKind.REQUEST
    words = [w for w in search_terms(listing.title) if len(w) >= 4]
    condition = Listing.category_id == listing.category_id
    if words:
        condition = or_(condition, *(func.lower(Listing.title).contains(w, autoescape=True) for w in words))
    return db.session.scalars(
        visible_listings(ring=listing.owner.ring)
        .where(Listing.kind == other_kind, Listing.owner_id != listing.owner_id, condition)
        .order_by((Listing.category_id == listing.category_id).desc(), Listing.created_at.desc())
        .limit(limit)
    ).all()


def requests_without_response(*, ring: Ring, days: int = 14) -> list[Listing]:
    """Requests open for ``days`` or more that nobody has reacted to, for a coordinator
    to broker by hand."""
    from ruilkring.messages.models import Conversation

    cutoff = clock.now() - timedelta(days=days)
    return db.session.scalars(
        visible_listings(ring=ring)
        .where(Listing.kind == ListingKind.REQUEST, Listing.created_at <= cutoff,
               ~exists().where(Conversation.listing_id == Listing.id))
        .order_by(Listing.created_at)
        .options(joinedload(Listing.owner).joinedload(Member.user))
    ).all()


def ring_categories(*, ring: Ring, active_only: bool = True) -> list[Category]:
    query = select(Category).where(Category.ring_id == ring.id).order_by(Category.position, Category.name)
    if active_only:
        query = query.where(Category.active)
    return db.session.scalars(query).all()


def member_listings(*, member: Member, include_inactive: bool = False) -> list[Listing]:
    """A member's own listings (all of them for the owner and coordinators)."""
    query = select(Listing).where(Listing.owner_id == member.id).order_by(Listing.created_at.desc())
    if not include_inactive:
        query = query.where(Listing.status == ListingStatus.ACTIVE, Listing.valid_until >= clock.now().date())
    return db.session.scalars(query).all()


def listings_expiring(*, on: date) -> list[Listing]:
    """Active listings that expire on ``on`` and whose owner was not reminded yet."""
    return db.session.scalars(
        select(Listing).where(Listing.status == ListingStatus.ACTIVE, Listing.valid_until == on,
                              Listing.expiry_reminded_on.is_(None))
        .options(joinedload(Listing.owner).joinedload(Member.user))
    ).all()


def member_trade_count(*, member: Member) -> int:
    """How many trades the member took part in (shown on profiles; balances are not)."""
    from ruilkring.ledger.models import Account, Transfer, TransferKind

    account_id = select(Account.id).where(Account.member_id == member.id).scalar_subquery()
    return db.session.scalar(
        select(func.count()).select_from(Transfer).where(
            Transfer.kind == TransferKind.TRADE,
            or_(Transfer.payer_account_id == account_id, Transfer.payee_account_id == account_id))
    ) or 0
