"""Reads of disputes: a member's own cases, the coordinator's queue, case timelines."""

from datetime import timedelta

from sqlalchemy import case, or_, select
from sqlalchemy.orm import joinedload

from ruilkring import clock
from ruilkring.disputes.models import OPEN_STATUSES, Dispute, DisputeEvent, DisputeStatus
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, Transfer
from ruilkring.members.models import Member
from ruilkring.rings.models import Ring

STALE_DAYS = 14


def dispute_queue(*, ring: Ring, status: str | None = None) -> list[Dispute]:
    """The ring's cases: open ones first (oldest first), then the rest newest first."""
    query = (
        select(Dispute).where(Dispute.ring_id == ring.id)
        .order_by(case((Dispute.status.in_(OPEN_STATUSES), 0), else_=1),
                  case((Dispute.status.in_(OPEN_STATUSES), Dispute.created_at), else_=None),
                  Dispute.created_at.desc())
        .options(joinedload(Dispute.transfer), joinedload(Dispute.opened_by).joinedload(Member.user),
                 joinedload(Dispute.mediator))
    )
    if status:
        query = query.where(Dispute.status == DisputeStatus(status))
    return db.session.scalars(query).unique().all()


def is_stale(dispute: Dispute) -> bool:
    """Open, and nothing happened for two weeks."""
    return dispute.status in OPEN_STATUSES and dispute.last_activity_at < clock.now() - timedelta(days=STALE_DAYS)


def member_disputes(*, member: Member) -> list[Dispute]:
    """Cases about transfers the member paid or received, newest first."""
    account_id = select(Account.id).where(Account.member_id == member.id).scalar_subquery()
    return db.session.scalars(
        select(Dispute).join(Transfer, Transfer.id == Dispute.transfer_id)
        .where(or_(Transfer.payer_account_id == account_id, Transfer.payee_account_id == account_id))
        .order_by(Dispute.created_at.desc())
    ).all()


def timeline(*, dispute: Dispute, include_private: bool) -> list[DisputeEvent]:
    """The case's events in order; private coordinator notes only when asked for."""
    query = select(DisputeEvent).where(DisputeEvent.dispute_id == dispute.id).order_by(DisputeEvent.id)
    if not include_private:
        query = query.where(DisputeEvent.private.is_(False))
    return db.session.scalars(query).all()


def disputed_transfer_ids(*, transfer_ids: list[int]) -> set[int]:
    """Which of these transfers have an open dispute (to mark them in lists)."""
    if not transfer_ids:
        return set()
    return set(db.session.scalars(select(Dispute.transfer_id).where(
        Dispute.transfer_id.in_(transfer_ids), Dispute.status.in_(OPEN_STATUSES))))
