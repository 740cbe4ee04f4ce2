"""Reads about members, always scoped to one ring."""

from sqlalchemy import Select, func, or_, select

from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.members.models import ACCESS_STATUSES, Member, MemberStatus
from ruilkring.rings.models import Ring


def member_admin_list(*, ring: Ring, status: str | None = None, q: str | None = None) -> Select:
    """The coordinator's member list: pending sign-ups first, then by name."""
    query = (
        select(Member).join(User, Member.user_id == User.id)
        .where(Member.ring_id == ring.id)
        .order_by((Member.status == MemberStatus.PENDING).desc(), func.lower(User.name))
    )
    if status:
        query = query.where(Member.status == MemberStatus(status))
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(or_(func.lower(User.name).like(pattern), func.lower(User.email).like(pattern)))
    return query


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
