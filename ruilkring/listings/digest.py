"""The weekly digest: a mail to each member with the offers and requests that others in
their ring posted in the last seven days.

A cron job (``flask --app ruilkring digest send``) calls ``digest_send`` for every
recipient and commits after each one. ``Member.digest_last_week`` holds the ISO week of
the last digest and is set in the same transaction that queues the mail, so a digest is
sent at most once per member per week, however often the job runs.
"""

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.listings.models import Listing
from ruilkring.listings.selectors import listing_search
from ruilkring.members.models import Member, MemberStatus
from ruilkring.notifications.services import mail_queue

DIGEST_DAYS = 7


def iso_week(moment: datetime) -> str:
    """The ISO week of ``moment`` as stored in ``Member.digest_last_week``: '2026-W47'."""
    year, week, _weekday = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _not_sent_in(week: str):
    return or_(Member.digest_last_week.is_(None), Member.digest_last_week != week)


def digest_recipients(*, week: str) -> list[Member]:
    """Active members who want the digest and did not get it in ``week``."""
    return db.session.scalars(
        select(Member).join(User, User.id == Member.user_id)
        .where(Member.status == MemberStatus.ACTIVE, Member.digest_opt_out.is_(False),
               User.erased_at.is_(None), _not_sent_in(week))
        .order_by(Member.ring_id, Member.id)
    ).all()


def digest_listings(*, member: Member, now: datetime) -> list[Listing]:
    """What is new for ``member``: visible listings of their ring posted by others in the
    last seven days (the same search as the listings page)."""
    query = listing_search(ring=member.ring, since=now - timedelta(days=DIGEST_DAYS))
    return [listing for listing in db.session.scalars(query) if listing.owner_id != member.id]


def digest_send(*, member: Member, now: datetime) -> bool:
    """Queue this week's digest for ``member`` and record the week. False, and nothing
    sent, when they opted out, already had this week's digest, or nothing is new."""
    week = iso_week(now)
    if member.digest_opt_out or member.status != MemberStatus.ACTIVE or member.digest_last_week == week:
        return False
    listings = digest_listings(member=member, now=now)
    if not listings:
        return False
    # Claim the week with a conditional UPDATE: of two runs that overlap, the second
    # waits for the first's row lock (PostgreSQL) or write lock (SQLite), then finds the
    # week already set and updates nothing, so it sends nothing either.
    claimed = db.session.execute(
        update(Member).where(Member.id == member.id, _not_sent_in(week)).values(digest_last_week=week)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if claimed != 1:
        return False
    mail_queue(user=member.user, subject=_l("Nieuw aanbod en nieuwe vragen bij %(ring)s", ring=member.ring.name),
               template="digest", ring=member.ring, listings=listings)
    return True
