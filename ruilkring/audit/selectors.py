"""Reads of the audit log, always scoped to one ring."""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, String, cast, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from ruilkring.audit.models import AuditEvent
from ruilkring.auth.models import User
from ruilkring.extensions import db
from ruilkring.members.models import Member
from ruilkring.rings.models import Ring


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def audit_search(
    *, ring: Ring, q: str = "", action: str | None = None, date_from: date | None = None,
    date_to: date | None = None, subject: Member | None = None,
) -> Select:
    """The ring's audit events, newest first: words in the actor's or subject's name, the
    action, the reason or the new values; one action; a period; or only events about one
    member."""
    actor = aliased(User)
    subject_member = aliased(Member)
    subject_user = aliased(User)
    query = (
        select(AuditEvent)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(subject_member, subject_member.id == AuditEvent.subject_member_id)
        .outerjoin(subject_user, subject_user.id == subject_member.user_id)
        .where(AuditEvent.ring_id == ring.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.subject).joinedload(Member.user))
    )
    if q.strip():
        pattern = f"%{q.strip().lower()}%"
        query = query.where(or_(
            func.lower(actor.name).like(pattern), func.lower(subject_user.name).like(pattern),
            func.lower(AuditEvent.action).like(pattern), func.lower(AuditEvent.reason).like(pattern),
            func.lower(cast(AuditEvent.new, String)).like(pattern),
        ))
    if action:
        query = query.where(AuditEvent.action == action)
    if date_from:
        query = query.where(AuditEvent.created_at >= _start_of(date_from))
    if date_to and date_to < date.max:  # the last day there is ends nothing
        query = query.where(AuditEvent.created_at < _start_of(date_to + timedelta(days=1)))
    if subject is not None:
        query = query.where(AuditEvent.subject_member_id == subject.id)
    return query


def audit_actions(*, ring: Ring, subject: Member | None = None) -> list[str]:
    """The kinds of action that occur in the ring's log (or only in events about
    ``subject``, so a member's filter does not tell what happened to others)."""
    query = select(AuditEvent.action).where(AuditEvent.ring_id == ring.id)
    if subject is not None:
        query = query.where(AuditEvent.subject_member_id == subject.id)
    return db.session.scalars(query.distinct().order_by(AuditEvent.action)).all()
